#!/usr/bin/env node
// Generates the strict, standalone JSON Schemas in this folder from the Kubernetes OpenAPI v2 document
// (swagger.json of a Kubernetes release), for the few kinds vigil's manifests use.
//
//   node deploy/kubernetes/schemas/generate.mjs path/to/swagger.json
//
// "Strict" as kubeconform's -strict means it: an object type with declared properties gets
// `additionalProperties: false`, so a misspelt field (`livenesProbe`) is an error rather than silently
// ignored. Descriptions and `x-kubernetes-*` extensions are dropped to keep the files small; formats are
// dropped (int32/int64 are plain integers here), int-or-string fields accept both, and resource
// quantities accept a string or a number as kubectl does.
import fs from 'node:fs';
import path from 'node:path';

export const KINDS = [
  ['io.k8s.api.apps.v1.Deployment', 'deployment-apps-v1'],
  ['io.k8s.api.core.v1.Service', 'service-v1'],
  ['io.k8s.api.core.v1.ConfigMap', 'configmap-v1'],
  ['io.k8s.api.core.v1.Secret', 'secret-v1'],
  ['io.k8s.api.core.v1.PersistentVolumeClaim', 'persistentvolumeclaim-v1'],
  ['io.k8s.api.policy.v1.PodDisruptionBudget', 'poddisruptionbudget-policy-v1'],
];

const REF = '#/definitions/';

function convert(node, defs, seen, queue) {
  if (Array.isArray(node)) return node.map((n) => convert(n, defs, seen, queue));
  if (node === null || typeof node !== 'object') return node;
  if (node.$ref) {
    const name = node.$ref.slice(REF.length);
    if (!seen.has(name)) {
      seen.add(name);
      queue.push(name);
    }
    return { $ref: node.$ref };
  }
  if (node.format === 'int-or-string') return { anyOf: [{ type: 'string' }, { type: 'integer' }] };
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'description' || k === 'format' || k === 'example' || k.startsWith('x-')) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, convert(s, defs, seen, queue)])) : convert(v, defs, seen, queue);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export function schemaFor(swagger, root) {
  const defs = swagger.definitions;
  if (!defs[root]) throw new Error(`${root} is not in the OpenAPI document`);
  const seen = new Set([root]);
  const queue = [root];
  const definitions = {};
  while (queue.length) {
    const name = queue.shift();
    const def = defs[name];
    if (!def) throw new Error(`dangling $ref ${name}`);
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
      definitions[name] = { anyOf: [{ type: 'string' }, { type: 'number' }] };
      continue;
    }
    definitions[name] = convert(def, defs, seen, queue);
  }
  const gvk = defs[root]['x-kubernetes-group-version-kind']?.[0];
  if (!gvk) throw new Error(`${root} has no group-version-kind`);
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  const top = definitions[root];
  top.properties.apiVersion = { type: 'string', enum: [apiVersion] };
  top.properties.kind = { type: 'string', enum: [gvk.kind] };
  top.required = [...new Set([...(top.required ?? []), 'apiVersion', 'kind', 'metadata'])];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `vigil:kubernetes/${apiVersion}/${gvk.kind}`,
    title: `${gvk.kind} (${apiVersion}), strict`,
    $ref: REF + root,
    definitions: Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b))),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const src = process.argv[2];
  if (!src) {
    console.error('usage: generate.mjs path/to/swagger.json');
    process.exit(2);
  }
  const swagger = JSON.parse(fs.readFileSync(src, 'utf8'));
  const dir = path.dirname(new URL(import.meta.url).pathname);
  for (const [root, file] of KINDS) {
    fs.writeFileSync(path.join(dir, `${file}.json`), JSON.stringify(schemaFor(swagger, root), null, 1) + '\n');
    console.log(`wrote ${file}.json`);
  }
}
