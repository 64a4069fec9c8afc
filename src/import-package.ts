/**
 * Dynamic `import()` of a package that works the same from the sources and from the bundle (issue 21,
 * deploy/bundle.mjs): node gives a CommonJS package's exports both as named exports and as `default`, but
 * esbuild's bundle gives them as `default` only (it does not guess named exports of a lazily imported
 * CommonJS module). An ES module package (no default export) is returned as is.
 *
 *   const { Metadata } = await importPackage(import('@grpc/grpc-js'));
 */
export async function importPackage<T extends object>(loading: Promise<T>): Promise<T> {
  const m = (await loading) as T & { default?: T };
  return m.default !== undefined && typeof m.default === 'object' ? m.default : m;
}
