import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/model/errors.js";
import type { AptSourceEntry } from "../../src/sources/apt-sources.js";
import { mirrorsFor, planMirrors } from "../../src/sources/mirrors.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Only the fields a plan reads: a manifest's sources and a lock's both have them.
const SOURCES = [
  { name: "debian", url: "https://archive.example/debian" },
  { name: "security", url: "https://security.example/debian-security" },
];

const APT: AptSourceEntry[] = [
  { uris: ["http://apt-a.example/debian", "http://apt-b.example/debian"], suites: ["bookworm", "bookworm-updates"], components: ["main"], file: "/etc/apt/x.sources", line: 1 },
  { uris: ["http://apt-late.example/debian"], suites: ["bookworm"], components: ["main"], file: "/etc/apt/y.sources", line: 7 },
  { uris: ["http://apt-sec.example/debian-security"], suites: ["bookworm-security"], components: ["main"], file: "/etc/apt/x.sources", line: 8 },
];

describe("planMirrors", () => {
  it("uses the manifest URL when nothing overrides it", () => {
    const plan = planMirrors(SOURCES, { mirrors: [] });
    expect(plan.basesFor("debian", "bookworm")).toEqual(["https://archive.example/debian"]);
    expect(plan.basesFor("security", "bookworm-security")).toEqual(["https://security.example/debian-security"]);
    expect(plan.basesFor("debian", "bookworm-updates")).toEqual(["https://archive.example/debian"]);
  });

  it("applies a bare URL to every source, keeping order and dropping trailing slashes and repeats", () => {
    const plan = planMirrors(SOURCES, { mirrors: ["http://m1.example/all/", "http://m2.example/all", "http://m1.example/all"] });
    expect(plan.basesFor("debian", "bookworm")).toEqual(["http://m1.example/all", "http://m2.example/all"]);
    expect(plan.basesFor("security", "bookworm-security")).toEqual(["http://m1.example/all", "http://m2.example/all"]);
  });

  it("applies NAME=URL to that source only, over a URL for all", () => {
    const plan = planMirrors(SOURCES, { mirrors: ["http://all.example/x", "security=http://sec.example/ds/"] });
    expect(plan.basesFor("security", "bookworm-security")).toEqual(["http://sec.example/ds"]);
    expect(plan.basesFor("debian", "bookworm-updates")).toEqual(["http://all.example/x"]);
  });

  it("uses apt sources per suite, first matching entry in file order, below --mirror", () => {
    const plan = planMirrors(SOURCES, { mirrors: [], apt: APT });
    expect(plan.basesFor("debian", "bookworm")).toEqual(["http://apt-a.example/debian", "http://apt-b.example/debian"]);
    expect(plan.basesFor("security", "bookworm-security")).toEqual(["http://apt-sec.example/debian-security"]);
    const over = planMirrors(SOURCES, { mirrors: ["http://all.example/x"], apt: APT });
    expect(over.basesFor("debian", "bookworm")).toEqual(["http://all.example/x"]);
    const named = planMirrors(SOURCES, { mirrors: ["debian=http://d.example/x"], apt: APT });
    expect(named.basesFor("debian", "bookworm")).toEqual(["http://d.example/x"]);
    expect(named.basesFor("security", "bookworm-security")).toEqual(["http://apt-sec.example/debian-security"]);
  });

  it("for a suite missing under a URL for every source, names --mirror NAME=URL with the sources' names", () => {
    const plan = planMirrors(SOURCES, { mirrors: ["http://all.example/x"] });
    expect(plan.missingSuiteHint("security")).toBe(
      "--mirror http://all.example/x is used for every source (debian, security); give each source its own mirror with --mirror debian=URL --mirror security=URL, or check the suite in scratch.json",
    );
    expect(planMirrors(SOURCES, { mirrors: [], envMirror: "http://all.example/x" }).missingSuiteHint("debian")).toContain('SCRATCH_PKGS_MIRROR="debian=URL security=URL"');
    // A source's own mirror, the manifest's URL, or a manifest of one source: the suite's name is the likelier culprit.
    expect(planMirrors(SOURCES, { mirrors: ["http://all.example/x", "security=http://sec.example/ds"] }).missingSuiteHint("security")).toBeUndefined();
    expect(planMirrors(SOURCES, { mirrors: [] }).missingSuiteHint("security")).toBeUndefined();
    expect(planMirrors(SOURCES.slice(0, 1), { mirrors: ["http://all.example/x"] }).missingSuiteHint("debian")).toBeUndefined();
  });

  it("keeps the manifest URL for a suite no apt entry lists", () => {
    const plan = planMirrors(SOURCES, { mirrors: [], apt: [APT[2]!] });
    expect(plan.basesFor("debian", "bookworm")).toEqual(["https://archive.example/debian"]);
    expect(plan.basesFor("security", "bookworm-security")).toEqual(["http://apt-sec.example/debian-security"]);
  });

  it("refuses (exit 2) suites --apt-sources should serve but the apt sources lack, naming both; --apt-sources-fallback allows the manifest URL", () => {
    const sources = [
      { ...SOURCES[0]!, suites: ["bookworm", "trixie"] },
      { ...SOURCES[1]!, suites: [{ suite: "trixie-security" }] },
    ];
    let err: unknown;
    try {
      planMirrors(sources, { mirrors: [], apt: APT });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      '--apt-sources: the apt sources (/etc/apt/x.sources, /etc/apt/y.sources) carry the suites bookworm, bookworm-updates, bookworm-security, not trixie (source "debian"), trixie-security (source "security") that the sources ask for',
    );
    expect((err as UsageError).hint).toContain("--apt-sources-fallback");
    // A --mirror for the source (or for all) takes the apt sources out of the question.
    expect(planMirrors(sources, { mirrors: ["http://all.example/x"], apt: APT }).basesFor("debian", "trixie")).toEqual(["http://all.example/x"]);
    expect(() => planMirrors(sources, { mirrors: ["security=http://sec.example/x"], apt: APT })).toThrow(/not trixie \(source "debian"\) that/);
    const fallback = planMirrors(sources, { mirrors: [], apt: APT, aptFallback: true });
    expect(fallback.basesFor("debian", "trixie")).toEqual(["https://archive.example/debian"]);
    expect(fallback.basesFor("debian", "bookworm")).toEqual(["http://apt-a.example/debian", "http://apt-b.example/debian"]);
  });

  it("uses SCRATCH_PKGS_MIRROR only when no --mirror is given", () => {
    const env = planMirrors(SOURCES, { mirrors: [], envMirror: "security=http://env-sec.example/ds http://env.example/all", apt: APT });
    expect(env.basesFor("security", "bookworm-security")).toEqual(["http://env-sec.example/ds"]);
    expect(env.basesFor("debian", "bookworm")).toEqual(["http://env.example/all"]);
    const flag = planMirrors(SOURCES, { mirrors: ["debian=http://flag.example/d"], envMirror: "http://env.example/all" });
    expect(flag.basesFor("security", "bookworm-security")).toEqual(["https://security.example/debian-security"]);
    expect(planMirrors(SOURCES, { mirrors: [], envMirror: "  " }).basesFor("debian", "bookworm")).toEqual(["https://archive.example/debian"]);
  });

  it("rejects an unknown source name with a suggestion", () => {
    const f = () => planMirrors(SOURCES, { mirrors: ["debain=http://x.example/d"] });
    expect(f).toThrow(UsageError);
    expect(f).toThrow(/--mirror debain=http:\/\/x\.example\/d: the manifest has no source named "debain" \(did you mean "debian"\?\)/);
    expect(() => planMirrors(SOURCES, { mirrors: [], envMirror: "nope=http://x.example/d" })).toThrow(/SCRATCH_PKGS_MIRROR nope=.*no source named "nope"/);
  });

  it("rejects mirror URLs that are not plain http(s) or absolute file: base URLs", () => {
    for (const bad of ["ftp://x.example/d", "x.example/d", "http://x.example/d?q=1", "debian=file:srv/d", "file://host.example/srv/d", "file:///srv/d?q=1"]) {
      expect(() => planMirrors(SOURCES, { mirrors: [bad] }), bad).toThrow(UsageError);
    }
  });

  it("accepts a local directory as a mirror (file:///absolute/path), trailing slash dropped", () => {
    const plan = planMirrors(SOURCES, { mirrors: ["debian=file:///srv/debian/", "security=file://localhost/srv/sec"] });
    expect(plan.basesFor("debian", "bookworm")).toEqual(["file:///srv/debian"]);
    expect(plan.basesFor("security", "bookworm-security")).toEqual(["file://localhost/srv/sec"]);
  });

  it("returns a fresh array each time, so callers cannot change the plan", () => {
    const plan = planMirrors(SOURCES, { mirrors: ["http://all.example/x"] });
    plan.basesFor("debian", "bookworm").push("http://evil.example");
    expect(plan.basesFor("debian", "bookworm")).toEqual(["http://all.example/x"]);
  });
});

describe("mirrorsFor", () => {
  it("reads the apt sources file the flags name, under --mirror and SCRATCH_PKGS_MIRROR", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mirrors-for-"));
    const file = join(dir, "x.list");
    writeFileSync(file, "deb http://apt.example/debian bookworm main\n");
    expect((await mirrorsFor(SOURCES, { mirrors: [], aptSources: file })).basesFor("debian", "bookworm")).toEqual(["http://apt.example/debian"]);
    expect((await mirrorsFor(SOURCES, { mirrors: [], envMirror: "http://env.example/d", aptSources: file })).basesFor("debian", "bookworm")).toEqual(["http://env.example/d"]);
    expect((await mirrorsFor(SOURCES, { mirrors: [] })).basesFor("debian", "bookworm")).toEqual(["https://archive.example/debian"]);
    await expect(mirrorsFor(SOURCES, { mirrors: [], aptSources: join(dir, "missing.list") })).rejects.toThrow(/missing\.list/);
  });
});
