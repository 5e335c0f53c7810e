// Compiles every .py under a built Lambda package to .pyc for the target runtime's CPython.
//
// This machine's Python is not the runtime's (python3.14), and a .pyc carries its CPython's
// magic number: one compiled by another version is ignored, and Lambda's read-only /var/task
// means the runtime would recompile every module on every cold start. Pyodide is CPython 3.14
// built for WebAssembly (from the npm registry), so its compileall writes the same .pyc files.
//
// usage: node compile_pyc.mjs <pyodide package dir> <artifacts dir>
import { pathToFileURL } from "node:url";
import path from "node:path";

const [pyodideDir, artifacts] = process.argv.slice(2);
if (!pyodideDir || !artifacts) {
  console.error("usage: node compile_pyc.mjs <pyodide dir> <artifacts dir>");
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: pyodideDir + path.sep });
py.FS.mkdir("/pkg");
py.FS.mount(py.FS.filesystems.NODEFS, { root: path.resolve(artifacts) }, "/pkg");
const result = py.runPython(`
import compileall, io, py_compile, sys
from contextlib import redirect_stdout
out = io.StringIO()
with redirect_stdout(out):
    # Unchecked hashes: the zip's timestamps need not survive; ddir: tracebacks name /var/task.
    ok = compileall.compile_dir(
        "/pkg", ddir="/var/task", quiet=1, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
f"{sys.implementation.cache_tag} {int(bool(ok))} {out.getvalue()}"
`);
const [tag, ok, ...log] = result.split(" ");
console.log(`compiled with ${tag}${ok === "1" ? "" : " (some files did not compile)"}`);
if (log.join(" ").trim()) console.log(log.join(" ").trim());
// A module that does not compile would be compiled (or fail) on every cold start: fail the build.
if (ok !== "1") process.exit(1);
