/**
 * A full garbage collection, run where the program has just dropped a large structure that
 * nothing will replace before the next phase allocates its own: an architecture's parsed index
 * (~100 MB of records and their resolution) once it is resolved. V8 would keep that garbage
 * until the old generation reaches a limit it set while the index was live, so the next index,
 * or a layer's build, was added on top of it or not, by the collector's timing (a nodejs lock
 * peaked at 319 MB with the amd64 index still in the heap while arm64's was parsed, 223 MB
 * with this collection); and a layer's build once every package is read (their member lists)
 * and again before its tar pass (the provenance's lines): the 100-package closure's layer
 * (138,754 paths) peaked at 317-360 MB without them, 274 MB with. This is no tuning of the collector (its
 * flags and limits are untouched): the collection V8 would run anyway, at the point where it
 * pays. `gc` is reachable from JavaScript only behind --expose-gc, set here for new contexts.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options?: { type?: "major" | "minor" }) => void;
let gc: Gc | undefined;

/** V8's `gc` (a full collection; `{ type: "minor" }` a young-generation one), exposed once. */
export function exposedGc(): Gc {
  if (gc === undefined) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as Gc;
  }
  return gc;
}

export function collectGarbage(): void {
  exposedGc()();
}
