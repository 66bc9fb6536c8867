const fs = require("fs");
const snap = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const m = snap.snapshot.meta; const nf = m.node_fields; const types = m.node_types[0];
const N = nf.length; const nodes = snap.nodes; const strings = snap.strings;
const iType = nf.indexOf("type"), iName = nf.indexOf("name"), iSize = nf.indexOf("self_size");
const agg = new Map();
for (let i = 0; i < nodes.length; i += N) {
  const t = types[nodes[i + iType]]; let name = strings[nodes[i + iName]];
  if (t === "string" || t === "concatenated string" || t === "sliced string") name = `${t}:${name.slice(0, 60)}`;
  else name = `${t}:${name}`;
  const a = agg.get(name) ?? [0, 0]; a[0] += nodes[i + iSize]; a[1]++; agg.set(name, a);
}
const byType = new Map();
for (let i = 0; i < nodes.length; i += N) { const t = types[nodes[i + iType]]; byType.set(t, (byType.get(t) ?? 0) + nodes[i + iSize]); }
console.log([...byType].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / 1e6).toFixed(1)}MB`).join("\n"));
console.log([...agg].sort((a, b) => b[1][0] - a[1][0]).slice(0, 40).map(([k, [s, c]]) => `${(s / 1e6).toFixed(1)}MB ${c} ${k.replace(/\n/g, "\\n")}`).join("\n"));
