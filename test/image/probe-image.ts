/**
 * What the engine tests (Docker, podman) share: the gcc-built probe program as an `--add` tar,
 * the committed lock's snapshots as file: mirrors, and what the program must print in a
 * container, computed from the layer's CA bundle and Node's own (ICU's) time zone data.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { compileProbe, PROBE_EPOCHS, PROBE_ZONE, type ProbeOutput, type ProbeTime } from "../fixtures/probe-program.js";
import { must } from "./helpers.js";

export const ROOT = resolve(import.meta.dirname, "../..");
/** Where the program lives in the images. */
export const APP = "/usr/local/bin/app";

/** The CLI's flags that serve the committed lock's packages from snapshots/, so nothing touches the network. */
export function snapshotMirrorArgs(): string[] {
  return ["--mirror", `debian=file://${ROOT}/snapshots/debian`, "--mirror", `debian-security=file://${ROOT}/snapshots/debian-security`];
}

/** Compiles the probe into `dir`/root + APP and packs it as a reproducible tar (root-owned, mtime 0). */
export async function buildProbeTar(dir: string): Promise<{ binary: string; tar: string }> {
  const root = join(dir, "app-root");
  await mkdir(join(root, "usr/local/bin"), { recursive: true });
  const binary = join(root, APP);
  await compileProbe(binary);
  const tar = join(dir, "app.tar");
  await must("tar", ["-C", root, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-cf", tar, "usr"]);
  return { binary, tar };
}

/** How many certificates the layer tar's CA bundle holds, as GNU tar reads it. */
export async function bundleCertificates(layerTar: string): Promise<number> {
  const bundle = await must("tar", ["-xOf", layerTar, "etc/ssl/certs/ca-certificates.crt"]);
  return bundle.split("\n").filter((l) => l.includes("BEGIN CERTIFICATE")).length;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("data", (c) => h.update(c))
      .on("error", fail)
      .on("end", () => ok(h.digest("hex")));
  });
}

/** What the probe prints as nonroot with `zone` at start, the wall-clock times computed with Node's (ICU's) zone data. */
export function expectedOutput(zone: string, certificates: number): ProbeOutput {
  return { uid: 65532, gid: 65532, start: expectedTimes(zone), amsterdam: expectedTimes(PROBE_ZONE), certificates };
}

export function expectedTimes(zone: string): ProbeTime[] {
  return PROBE_EPOCHS.map((epoch) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "longOffset" })
        .formatToParts(new Date(epoch * 1000))
        .map((p) => [p.type, p.value]),
    );
    // "GMT+02:00" → "+0200"; plain "GMT" is UTC itself
    const m = /^GMT(?:([+-])(\d\d):(\d\d))?$/.exec(parts.timeZoneName!);
    if (!m) throw new Error(`unexpected offset ${parts.timeZoneName} for ${zone}`);
    const offset = m[1] ? `${m[1]}${m[2]}${m[3]}` : "+0000";
    const abbr = zone === "UTC" ? "UTC" : { "+0100": "CET", "+0200": "CEST" }[offset];
    if (!abbr) throw new Error(`no abbreviation known for ${zone} at ${offset}`);
    return { epoch, wall: `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`, abbr, offset };
  });
}
