// Module hook of scripts/module-log/preload.mjs: reports every URL the ES module loader loads.
let port;
export function initialize(data) {
  port = data.port;
}
export async function load(url, context, next) {
  port.postMessage(url);
  return next(url, context);
}
