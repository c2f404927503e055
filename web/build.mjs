// Bundles the viewer into dist/ (served by the gateway at /): `npm ci && npm run build`.
// Everything comes from node_modules (package-lock.json); nothing is fetched at run time.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

const out = new URL("./dist/", import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL("./src/app.js", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome120", "firefox128", "safari17"],
  legalComments: "linked",
  outfile: new URL("./app.js", out).pathname,
  logLevel: "warning",
});
for (const name of ["index.html", "style.css"]) {
  await copyFile(new URL(`./src/${name}`, import.meta.url), new URL(name, out));
}
console.log(`viewer built into ${out.pathname}`);
