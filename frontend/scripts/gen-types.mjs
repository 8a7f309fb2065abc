// Generate src/api/schema.d.ts from the backend's committed openapi.json (repo root).
// Usage: npm run gen:types [-- path/to/openapi.json]
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.argv[2] ?? path.resolve(here, "../../openapi.json");
if (!existsSync(source)) {
  console.error(`no OpenAPI document at ${source}; pass one as the first argument`);
  process.exit(1);
}
const out = path.resolve(here, "../src/api/schema.d.ts");
execFileSync(
  path.resolve(here, "../node_modules/.bin/openapi-typescript"),
  [source, "-o", out, "--default-non-nullable=false"],
  { stdio: "inherit" },
);
