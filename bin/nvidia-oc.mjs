#!/usr/bin/env node
// `nvidia-oc <command>`: see src/cli/main.ts, or `nvidia-oc --help`.
import { pathToFileURL } from "node:url";
import { ensureCliBundle } from "../scripts/build-cli.mjs";

await import(pathToFileURL(await ensureCliBundle()).href);
