#!/usr/bin/env node
// validate.js: Kubernetes objects checked against the OpenAPI schemas that
// kubernetes-models bundles (JSON Schema, through @kubernetes-models/validate
// and ajv). No network: the schemas are in node_modules.
//
//   node validate.js rendered FILE OUTDIR
//       FILE is `kubectl kustomize contrib/k8s`: every object must validate,
//       and the deployment must hold together (contract() below). Writes
//       OUTDIR/spec.json (the spec of the ConfigMap), OUTDIR/nats.conf and
//       OUTDIR/credentials (the *_credential names of the spec, one a line).
//   node validate.js refuse FILE...
//       each FILE (a broken fixture) must hold an object the validator
//       refuses; exits 1 if one is accepted.
//
// An object of an apiVersion or kind that kubernetes-models does not know is
// refused, never passed unchecked.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

function readObjects(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  const out = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o !== null && o !== undefined) out.push(o);
  }
  return out;
}

// The model class of an object (new'd and validated), or an Error saying why
// it cannot be checked or what is wrong with it.
function check(o) {
  if (typeof o.apiVersion !== "string" || typeof o.kind !== "string")
    return new Error("no apiVersion or kind");
  let mod;
  try {
    mod = require(`kubernetes-models/${o.apiVersion}`);
  } catch (e) {
    return new Error(`apiVersion ${o.apiVersion} is unknown to kubernetes-models`);
  }
  const Model = mod[o.kind];
  if (typeof Model !== "function")
    return new Error(`kind ${o.kind} is unknown in ${o.apiVersion}`);
  try {
    new Model(o).validate();
  } catch (e) {
    return e;
  }
  return null;
}

function name(o) {
  return `${o.kind || "?"} ${(o.metadata && o.metadata.name) || "?"}`;
}

let failures = 0;
function fail(msg) {
  console.log(`FAIL: ${msg}`);
  failures++;
}
function expect(cond, msg) {
  if (!cond) fail(msg);
  return cond;
}

// ---------------------------------------------------------------- contract
// What the brief of contrib/k8s asks, and what must agree across objects
// (a schema cannot see that a Service selects no pod, or that the spec names
// a credential the pod does not mount).

function find(objs, kind, nm) {
  return objs.find((o) => o.kind === kind && o.metadata.name === nm);
}
// a generated ConfigMap: its name is the generator's plus a content hash
function findGenerated(objs, kind, base) {
  return objs.find((o) => o.kind === kind &&
    (o.metadata.name === base || o.metadata.name.startsWith(base + "-")));
}
function selects(selector, labels) {
  const m = (selector && selector.matchLabels) || selector || {};
  const keys = Object.keys(m);
  return keys.length > 0 && keys.every((k) => labels && labels[k] === m[k]);
}
function credentialNames(v, out) {
  if (Array.isArray(v)) v.forEach((x) => credentialNames(x, out));
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      if (k.endsWith("_credential") && typeof x === "string") out.add(x);
      else credentialNames(x, out);
    }
  return out;
}
function portOf(container, p) {
  const ports = container.ports || [];
  if (typeof p === "number") return ports.some((q) => q.containerPort === p) ? p : null;
  const q = ports.find((x) => x.name === p);
  return q ? q.containerPort : null;
}
function sameSet(a, b) {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function contractServe(objs, outdir) {
  const d = find(objs, "Deployment", "reconcile");
  if (!expect(d, "no Deployment reconcile")) return;
  const pod = d.spec.template.spec;
  const c = pod.containers.find((x) => x.name === "reconcile");
  if (!expect(c, "Deployment reconcile: no container reconcile")) return;
  expect(d.spec.replicas === 3, "Deployment reconcile: replicas is not 3");
  const args = c.args || [];
  expect(args[0] === "serve", "Deployment reconcile: does not run `reconcile serve`");
  const listen = args[args.indexOf("--listen") + 1] || "";
  const listenPort = Number(listen.split(":").pop());
  for (const [probe, want] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
    const g = c[probe] && c[probe].httpGet;
    if (!expect(g, `Deployment reconcile: no ${probe} by HTTP`)) continue;
    expect(g.path === want, `Deployment reconcile: ${probe} on ${g.path}, not ${want}`);
    expect(portOf(c, g.port) === listenPort,
      `Deployment reconcile: ${probe}'s port is not serve's --listen port ${listenPort}`);
  }
  const r = c.resources || {};
  for (const k of ["requests", "limits"])
    expect(r[k] && r[k].cpu && r[k].memory, `Deployment reconcile: no ${k} of cpu and memory`);
  const psc = pod.securityContext || {}, csc = c.securityContext || {};
  expect(psc.runAsNonRoot === true, "Deployment reconcile: runAsNonRoot is not set");
  expect(csc.readOnlyRootFilesystem === true, "Deployment reconcile: root fs is not read-only");
  expect(csc.allowPrivilegeEscalation === false, "Deployment reconcile: privilege escalation allowed");
  expect(pod.serviceAccountName && find(objs, "ServiceAccount", pod.serviceAccountName),
    "Deployment reconcile: its ServiceAccount is not in the manifests");

  // the spec: -c names the key of the ConfigMap mounted there
  const specPath = args[args.indexOf("-c") + 1] || "";
  const mounts = c.volumeMounts || [];
  const vol = (n) => (pod.volumes || []).find((v) => v.name === n);
  const specMount = mounts.find((m) => m.mountPath === path.dirname(specPath));
  const specVol = specMount && vol(specMount.name);
  const cm = specVol && specVol.configMap && find(objs, "ConfigMap", specVol.configMap.name);
  const specKey = path.basename(specPath);
  if (!expect(cm && cm.data && cm.data[specKey],
    `Deployment reconcile: -c ${specPath} is no key of a ConfigMap mounted there`)) return;
  const spec = JSON.parse(cm.data[specKey]);
  fs.writeFileSync(path.join(outdir, "spec.json"), cm.data[specKey]);

  // the credentials: every *_credential of the spec is a file of the
  // volume mounted at $CREDENTIALS_DIRECTORY, and nothing else is
  const env = (c.env || []).find((e) => e.name === "CREDENTIALS_DIRECTORY");
  const credMount = env && mounts.find((m) => m.mountPath === env.value);
  const credVol = credMount && vol(credMount.name);
  const files = new Set();
  if (expect(credVol && credVol.projected,
    "Deployment reconcile: no projected volume mounted at $CREDENTIALS_DIRECTORY"))
    for (const s of credVol.projected.sources)
      for (const it of (s.secret && s.secret.items) || []) files.add(it.path);
  const wanted = credentialNames(spec, new Set());
  expect(wanted.size > 0, "the spec names no *_credential");
  expect(sameSet(wanted, files), `the spec's credentials [${[...wanted].sort()}] are not ` +
    `the files mounted at $CREDENTIALS_DIRECTORY [${[...files].sort()}]`);
  fs.writeFileSync(path.join(outdir, "credentials"), [...wanted].sort().join("\n") + "\n");
  expect(spec.cluster, "the spec has no cluster section");
  expect(mounts.some((m) => m.mountPath === spec.state_dir && vol(m.name).emptyDir),
    `Deployment reconcile: state_dir ${spec.state_dir} is not an emptyDir`);
  return { d, spec };
}

function contractExposure(objs, d) {
  const labels = d.spec.template.metadata.labels;
  const svc = objs.find((o) => o.kind === "Service" && selects(o.spec.selector, labels));
  if (!expect(svc, "no Service selects the reconcile pods")) return;
  const ing = objs.find((o) => o.kind === "Ingress");
  if (!expect(ing, "no Ingress")) return;
  const paths = ing.spec.rules.flatMap((r) => r.http.paths);
  expect(paths.length > 0 && paths.every((p) => p.path.startsWith("/webhooks")),
    "Ingress: publishes more than /webhooks");
  for (const p of paths) {
    const b = p.backend.service;
    const s = find(objs, "Service", b.name);
    expect(s && s.spec.ports.some((q) => q.name === b.port.name || q.port === b.port.number),
      `Ingress: backend ${b.name}:${b.port.name || b.port.number} is no Service port`);
  }
}

function contractPdb(objs, workload) {
  const labels = workload.spec.template.metadata.labels;
  const pdb = objs.find((o) => o.kind === "PodDisruptionBudget" && selects(o.spec.selector, labels));
  expect(pdb && pdb.spec.maxUnavailable === 1,
    `${name(workload)}: no PodDisruptionBudget with maxUnavailable 1 selects its pods`);
}

function contractNats(objs, spec, outdir) {
  const ss = find(objs, "StatefulSet", "nats");
  if (!expect(ss, "no StatefulSet nats")) return;
  const n = ss.spec.replicas;
  expect(n === 3, "StatefulSet nats: replicas is not 3");
  const hl = find(objs, "Service", ss.spec.serviceName);
  expect(hl && hl.spec.clusterIP === "None", "StatefulSet nats: its serviceName is no headless Service");
  const pod = ss.spec.template.spec;
  const c = pod.containers[0];
  expect(/^nats:2\./.test(c.image), `StatefulSet nats: image ${c.image} is not nats:2.x`);
  const cfgArg = c.args[c.args.indexOf("--config") + 1] || "";
  const m = (c.volumeMounts || []).find((x) => x.mountPath === path.dirname(cfgArg));
  const v = m && pod.volumes.find((x) => x.name === m.name);
  const cm = v && v.configMap && find(objs, "ConfigMap", v.configMap.name);
  const conf = cm && cm.data && cm.data[path.basename(cfgArg)];
  if (!expect(conf, `StatefulSet nats: --config ${cfgArg} is no key of a mounted ConfigMap`)) return;
  fs.writeFileSync(path.join(outdir, "nats.conf"), conf);
  expect(/jetstream\s*\{/.test(conf), "nats.conf: JetStream is not enabled");
  for (let i = 0; i < n; i++)
    expect(conf.includes(`nats://${ss.metadata.name}-${i}.${ss.spec.serviceName}:6222`),
      `nats.conf: no route to ${ss.metadata.name}-${i}`);
  const store = (conf.match(/store_dir:\s*"?([^"\s]+)"?/) || [])[1];
  const pvcs = (ss.spec.volumeClaimTemplates || []).map((t) => t.metadata.name);
  expect(store && (c.volumeMounts || []).some((x) => x.mountPath === store && pvcs.includes(x.name)),
    `nats.conf: store_dir ${store} is not on a volume claim of the StatefulSet`);
  // reconcile's cluster.urls reach these servers' client port
  for (const u of spec.cluster.urls) {
    const [host, port] = u.replace(/^[a-z]+:\/\//, "").split(":");
    const parts = host.split(".");
    const ord = new RegExp(`^${ss.metadata.name}-(\\d+)$`).exec(parts[0]);
    const svc = parts.length === 1 && find(objs, "Service", host);
    const ok = parts.length === 2
      ? !!ord && Number(ord[1]) < n && parts[1] === ss.spec.serviceName
      : !!svc && selects(svc.spec.selector, ss.spec.template.metadata.labels);
    expect(ok && Number(port) === 4222, `spec cluster.urls: ${u} is no NATS server of the manifests`);
  }
  return ss;
}

function rendered(file, outdir) {
  const objs = readObjects(file);
  for (const o of objs) {
    const e = check(o);
    if (e) fail(`${name(o)}: ${e.message}`);
    else console.log(`ok: ${name(o)}`);
  }
  for (const kind of ["Namespace", "ServiceAccount", "Deployment", "Service", "Ingress",
    "PodDisruptionBudget", "StatefulSet", "ConfigMap"])
    expect(objs.some((o) => o.kind === kind), `no ${kind} in the rendered manifests`);
  const serve = contractServe(objs, outdir);
  if (serve) {
    contractExposure(objs, serve.d);
    contractPdb(objs, serve.d);
    const ss = contractNats(objs, serve.spec, outdir);
    if (ss) contractPdb(objs, ss);
  }
  console.log(`${objs.length} objects, ${failures} failures`);
}

function refuse(files) {
  for (const f of files) {
    const bad = readObjects(f).map((o) => [o, check(o)]).filter(([, e]) => e);
    if (bad.length) console.log(`refused, as it must be: ${path.basename(f)}: ${bad[0][1].message}`);
    else fail(`${path.basename(f)}: the validator accepted a broken manifest`);
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "rendered" && rest.length === 2) rendered(rest[0], rest[1]);
else if (mode === "refuse" && rest.length > 0) refuse(rest);
else {
  console.error("usage: validate.js rendered FILE OUTDIR | refuse FILE...");
  process.exit(2);
}
process.exit(failures ? 1 : 0);
