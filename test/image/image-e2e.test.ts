// `image` end to end on a lock made from the signed fixture archive, validated with real tools:
// skopeo reads the OCI layout and the docker-archive, umoci unpacks the rootfs, which must
// equal the layer's provenance manifest file by file. Expected values come from the lock, the
// tools and files hashed here, never from the image code itself.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckFailedError, UsageError } from "../../src/model/errors.js";
import type { Lockfile } from "../../src/model/lock.js";
import { PROVENANCE_PATH } from "../../src/layer/provenance.js";
import { parseProvenance } from "../../src/layer/provenance-read.js";
import { MAINTAINER, readLock, rejection, removeDir } from "../lock/helpers.js";
import { Ajv } from "ajv";
import { buildTar } from "../fixtures/deb.js";
import { cleanEnv, compileCli, imageFixture, imageWith, must, run, type ImageFixture } from "./helpers.js";

const hasSkopeo = existsSync("/usr/bin/skopeo");
const canUmoci = existsSync("/usr/bin/umoci") && process.getuid?.() === 0;

let f: ImageFixture;
let lock: Lockfile;
let lockSha: string;
let created: string;
let addTar: string;
let n = 0;

const sha256 = (b: Uint8Array | string): string => createHash("sha256").update(b).digest("hex");
const sha1 = (b: Uint8Array | string): string => createHash("sha1").update(b).digest("hex");
const out = (name: string): string => join(f.work, "out", `${n++}-${name}`);
const json = <T = Record<string, unknown>>(s: string): T => JSON.parse(s) as T;

beforeAll(async () => {
  f = await imageFixture("image-e2e");
  lock = await readLock(f.lockfile);
  lockSha = sha256(await readFile(f.lockfile));
  created = (await must("date", ["-u", "-d", `@${lock.sourceDateEpoch}`, "+%Y-%m-%dT%H:%M:%SZ"])).trim();
  await mkdir(join(f.work, "out"), { recursive: true });
  // The user's own layer, as make would produce it.
  const root = join(f.work, "app-root");
  await mkdir(join(root, "usr/local/bin"), { recursive: true });
  await writeFile(join(root, "usr/local/bin/app"), "#!/app\n", { mode: 0o755 });
  addTar = join(f.work, "app.tar");
  await must("tar", ["-C", root, "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-cf", addTar, "usr"]);
});

afterAll(async () => {
  await f?.close();
  if (f) await removeDir(f.work);
});

interface IndexJson {
  manifests: Array<{ mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }>;
}

function blobText(dir: string, digest: string): string {
  return readFileSync(join(dir, "blobs/sha256", digest.replace(/^sha256:/, "")), "utf8");
}

describe("OCI image layout", () => {
  let dir: string;
  beforeAll(async () => {
    dir = out("oci");
    await imageWith(f, { output: dir, entrypoint: ['["/usr/local/bin/app","--serve"]'], add: [addTar], env: ["TZ=UTC", "APP_MODE=prod"], workdir: "/home/nonroot", labels: ["org.opencontainers.image.source=https://example.invalid/app"], sbom: join(f.work, "out", "sbom-{arch}.spdx.json") });
  });

  it.skipIf(!hasSkopeo)("skopeo reads both architectures with the config the flags and the lock imply", async () => {
    for (const arch of ["amd64", "arm64"]) {
      const inspect = json<{ Architecture: string; Os: string; Created: string; Env: string[]; Layers: string[]; Labels: Record<string, string> }>(await must("skopeo", ["--override-arch", arch, "--override-os", "linux", "inspect", `oci:${dir}:latest`]));
      const config = json<{ architecture: string; variant?: string; created: string; config: Record<string, unknown>; rootfs: { diff_ids: string[] }; history: Array<{ created: string; created_by: string }> }>(
        await must("skopeo", ["--override-arch", arch, "--override-os", "linux", "inspect", "--config", `oci:${dir}:latest`]),
      );
      const layer = lock.architectures[arch]!.layer;
      expect(inspect.Architecture).toBe(arch);
      expect(inspect.Os).toBe("linux");
      expect(inspect.Created).toBe(created);
      expect(inspect.Layers[0]).toBe(layer.compressed.gzip!.digest);
      expect(inspect.Layers).toHaveLength(2);
      expect(inspect.Labels).toEqual({ "org.opencontainers.image.source": "https://example.invalid/app" });
      expect(config.variant).toBe(arch === "arm64" ? "v8" : undefined);
      expect(config.config.User).toBe("65532:65532");
      expect(config.config.Entrypoint).toEqual(["/usr/local/bin/app", "--serve"]);
      expect(config.config.WorkingDir).toBe("/home/nonroot");
      expect(config.config.Env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "TZ=UTC", "APP_MODE=prod"]);
      expect(config.rootfs.diff_ids).toEqual([layer.diffId, "sha256:" + sha256(await readFile(addTar))]);
      expect(config.history.map((h) => h.created_by)).toEqual([`scratch-pkgs layer (scratch.lock sha256:${lockSha})`, "scratch-pkgs image --add app.tar"]);
      expect(config.history.every((h) => h.created === created)).toBe(true);
    }
  });

  it("has a multi-arch index tagged latest, per-arch tags, and one SBOM referrer per architecture", async () => {
    expect(json(await readFile(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = json<IndexJson>(await readFile(join(dir, "index.json"), "utf8"));
    const tagged = index.manifests.filter((m) => m.annotations?.["org.opencontainers.image.ref.name"]);
    expect(tagged.map((m) => m.annotations!["org.opencontainers.image.ref.name"])).toEqual(["latest", "latest-amd64", "latest-arm64"]);
    const multi = json<{ manifests: Array<{ digest: string; platform: Record<string, string> }> }>(blobText(dir, tagged[0]!.digest));
    expect(multi.manifests.map((m) => m.platform)).toEqual([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux", variant: "v8" },
    ]);
    expect(multi.manifests.map((m) => m.digest)).toEqual([tagged[1]!.digest, tagged[2]!.digest]);
    for (const m of multi.manifests) {
      const manifest = json<{ layers: Array<{ mediaType: string }> }>(blobText(dir, m.digest));
      expect(manifest.layers.map((l) => l.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+gzip"]);
    }
    // Every blob's name is its sha256, and every referenced blob exists.
    for (const name of await readdir(join(dir, "blobs/sha256"))) expect(sha256(await readFile(join(dir, "blobs/sha256", name)))).toBe(name);

    const referrers = index.manifests.filter((m) => m.artifactType === "application/spdx+json");
    expect(referrers).toHaveLength(2);
    const subjects = referrers.map((r) => {
      const a = json<{ subject: { digest: string }; layers: Array<{ digest: string; mediaType: string; annotations: Record<string, string> }> }>(blobText(dir, r.digest));
      expect(a.layers[0]!.mediaType).toBe("application/spdx+json");
      const arch = a.layers[0]!.annotations["org.opencontainers.image.title"]!.match(/^sbom-(.*)\.spdx\.json$/)![1]!;
      // The SBOM blob is the same document --sbom wrote.
      expect(blobText(dir, a.layers[0]!.digest)).toBe(readFileSync(join(f.work, "out", `sbom-${arch}.spdx.json`), "utf8"));
      return [arch, a.subject.digest];
    });
    expect(Object.fromEntries(subjects)).toEqual({ amd64: multi.manifests[0]!.digest, arm64: multi.manifests[1]!.digest });
  });

  it.skipIf(!hasSkopeo)("skopeo copies it to a docker-archive", async () => {
    const tar = out("copied.tar");
    await must("skopeo", ["--override-arch", "arm64", "copy", `oci:${dir}:latest`, `docker-archive:${tar}`]);
    const inspect = json<{ Architecture: string; Layers: string[] }>(await must("skopeo", ["inspect", `docker-archive:${tar}`]));
    expect(inspect.Architecture).toBe("arm64");
    expect(inspect.Layers).toHaveLength(2);
  });

  it.skipIf(!canUmoci)("umoci unpacks a rootfs whose files are exactly the provenance manifest's, plus the added layer", async () => {
    for (const arch of ["amd64", "arm64"]) {
      const bundle = out(`bundle-${arch}`);
      await must("umoci", ["unpack", "--image", `${dir}:latest-${arch}`, bundle]);
      const rootfs = join(bundle, "rootfs");
      const manifestText = await readFile(join(rootfs, PROVENANCE_PATH), "utf8");
      // The manifest in the image is the one the lock pins.
      expect(sha256(manifestText)).toBe(lock.architectures[arch]!.layer.provenance.sha256);
      const { entries } = parseProvenance(manifestText, PROVENANCE_PATH);
      expect(entries.length).toBe(lock.architectures[arch]!.layer.provenance.entries);
      for (const e of entries) {
        const p = join(rootfs, e.path);
        const st = await lstat(p);
        expect((st.mode & 0o7777).toString(8).padStart(4, "0"), e.path).toBe(e.mode);
        expect([st.uid, st.gid], e.path).toEqual([e.uid, e.gid]);
        if (e.type === "file") expect(sha256(await readFile(p)), e.path).toBe(e.sha256);
        else if (e.type === "symlink") expect(await readlink(p), e.path).toBe(e.target);
        else if (e.type === "dir") expect(st.isDirectory(), e.path).toBe(true);
        else if (e.type === "hardlink") expect(st.ino).toBe((await lstat(join(rootfs, e.target!))).ino);
      }
      // Nothing else: walk the rootfs and compare the path sets.
      const onDisk: string[] = [];
      const walk = async (d: string, rel: string): Promise<void> => {
        for (const name of await readdir(d)) {
          const r = `${rel}/${name}`;
          onDisk.push(r);
          if ((await lstat(join(d, name))).isDirectory()) await walk(join(d, name), r);
        }
      };
      await walk(rootfs, "");
      const added = ["/usr/local", "/usr/local/bin", "/usr/local/bin/app"];
      const expected = new Set([...entries.map((e) => e.path), PROVENANCE_PATH, ...added]);
      expect(onDisk.sort()).toEqual([...expected].sort());
      expect(await readFile(join(rootfs, "usr/local/bin/app"), "utf8")).toBe("#!/app\n");
    }
  });
});

describe("SBOM", () => {
  interface Spdx {
    spdxVersion: string;
    SPDXID: string;
    documentNamespace: string;
    creationInfo: { created: string; creators: string[] };
    packages: Array<{ SPDXID: string; name: string; versionInfo: string; supplier: string; downloadLocation: string; filesAnalyzed: boolean; hasFiles?: string[]; packageVerificationCode?: { packageVerificationCodeValue: string }; checksums: Array<{ algorithm: string; checksumValue: string }>; licenseDeclared: string; attributionTexts?: string[]; externalRefs: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string }> }>;
    files: Array<{ SPDXID: string; fileName: string; checksums: Array<{ algorithm: string; checksumValue: string }>; comment: string }>;
    relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
    documentDescribes: string[];
  }
  const ARCHES = ["amd64", "arm64"];
  const SUPPLIER = "Organization: Example Ltd (ops@example.com)";
  let docs: Record<string, Spdx>;
  let texts: Record<string, string>;
  let bundleRoot: string;
  /** Each architecture's image manifest digest, read from the layout's own index. */
  let manifests: Record<string, string>;
  const purl = (doc: Spdx, id: string) => doc.packages.find((p) => p.SPDXID === id)!.externalRefs.find((r) => r.referenceType === "purl")!.referenceLocator;
  const related = (doc: Spdx, from: string, type: string) => doc.relationships.filter((r) => r.spdxElementId === from && r.relationshipType === type).map((r) => r.relatedSpdxElement);

  beforeAll(async () => {
    const dir = out("sbom");
    await imageWith(f, { output: dir, add: [addTar], sbom: join(dir + "-sbom-{arch}.json"), supplier: SUPPLIER });
    texts = Object.fromEntries(await Promise.all(ARCHES.map(async (a) => [a, await readFile(`${dir}-sbom-${a}.json`, "utf8")] as const)));
    docs = Object.fromEntries(ARCHES.map((a) => [a, json<Spdx>(texts[a]!)]));
    bundleRoot = dir;
    const index = json<IndexJson>(await readFile(join(dir, "index.json"), "utf8"));
    manifests = {};
    for (const m of index.manifests) {
      const arch = m.annotations?.["org.opencontainers.image.ref.name"]?.match(/^latest-(.*)$/)?.[1];
      if (arch) manifests[arch] = "sha256:" + sha256(readFileSync(join(dir, "blobs/sha256", m.digest.replace(/^sha256:/, ""))));
    }
  });

  it("is valid against the official SPDX 2.3 JSON schema", async () => {
    // draft-07 schema: ajv's default class. Committed from spdx/spdx-spec (see README.md here).
    const schema = json(await readFile(join(import.meta.dirname, "spdx-2.3.schema.json"), "utf8"));
    const validate = new Ajv({ allErrors: true }).compile(schema);
    for (const arch of ARCHES) {
      expect(validate(docs[arch]), `${arch}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it("has the NTIA minimum elements for every component", () => {
    for (const arch of ARCHES) {
      const doc = docs[arch]!;
      // Author of the SBOM data and its timestamp.
      expect(doc.creationInfo.creators).toEqual([expect.stringMatching(/^Tool: scratch-pkgs-\S+$/)]);
      expect(doc.creationInfo.created).toBe(created);
      for (const p of doc.packages) {
        // Supplier, component name, version, another unique identifier (the purl).
        // Every component has one: the Debian packages from their Maintainer, the image and its --add layer from --supplier.
        expect(p.supplier, p.name).toMatch(/^Organization: \S.*$/);
        expect(p.name).not.toBe("");
        expect(p.versionInfo).not.toBe("");
        expect(p.externalRefs.filter((r) => r.referenceCategory === "PACKAGE-MANAGER" && r.referenceType === "purl"), p.name).toHaveLength(1);
      }
      // Dependency relationships: every package the resolver reached through another depends on something.
      expect(doc.relationships.filter((r) => r.relationshipType === "DEPENDS_ON").length).toBeGreaterThan(0);
    }
  });

  it("has one root, the image, by its manifest digest and pkg:oci purl, containing everything else", () => {
    for (const arch of ARCHES) {
      const doc = docs[arch]!;
      expect(doc.documentDescribes).toHaveLength(1);
      const rootId = doc.documentDescribes[0]!;
      expect(doc.relationships.filter((r) => r.relationshipType === "DESCRIBES")).toEqual([{ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: rootId }]);
      const root = doc.packages[0]!;
      expect(root.SPDXID).toBe(rootId);
      expect(root.name).toBe("scratch");
      expect(root.versionInfo).toBe(manifests[arch]);
      expect(root.supplier).toBe(SUPPLIER);
      expect(root.checksums).toEqual([{ algorithm: "SHA256", checksumValue: manifests[arch]!.slice(7) }]);
      expect(purl(doc, rootId)).toBe(`pkg:oci/scratch@sha256%3A${manifests[arch]!.slice(7)}?arch=${arch}&tag=latest-${arch}`);
      const debIds = doc.packages.filter((p) => p.externalRefs[0]!.referenceLocator.startsWith("pkg:deb/")).map((p) => p.SPDXID);
      const addedId = doc.packages.find((p) => p.name === "app.tar")!.SPDXID;
      const generated = doc.files.filter((x) => x.comment?.startsWith("Generated by")).map((x) => x.SPDXID);
      expect(generated.length).toBeGreaterThan(0);
      expect(related(doc, rootId, "CONTAINS")).toEqual([...debIds, ...generated, addedId]);
    }
  });

  it("lists every locked package with its supplier, purl, URL, sha256 and declared license", () => {
    for (const arch of ARCHES) {
      const doc = docs[arch]!;
      expect(doc.spdxVersion).toBe("SPDX-2.3");
      expect(doc.SPDXID).toBe("SPDXRef-DOCUMENT");
      expect(doc.documentNamespace).toContain(lockSha);
      expect(doc.documentNamespace).toContain(manifests[arch]!.slice(7));
      expect(doc.documentNamespace).toContain(arch);
      const locked = lock.architectures[arch]!.packages;
      const debs = doc.packages.filter((p) => p.externalRefs[0]!.referenceLocator.startsWith("pkg:deb/"));
      expect(debs.map((p) => p.name)).toEqual(locked.map((p) => p.name));
      for (const [i, p] of debs.entries()) {
        const l = locked[i]!;
        expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
        expect(p.versionInfo).toBe(l.version);
        // The fixture's Maintainer, "Name <email>", in SPDX's Organization form.
        const [, name, email] = /^(.+) <(.+)>$/.exec(MAINTAINER)!;
        expect(p.supplier).toBe(`Organization: ${name} (${email})`);
        expect(p.downloadLocation).toBe(l.url);
        expect(p.checksums).toEqual([{ algorithm: "SHA256", checksumValue: l.sha256 }]);
        // The fixture suite "stable" is no Debian codename: the distro qualifier is the suite.
        const enc = (s: string) => encodeURIComponent(s);
        expect(p.externalRefs).toEqual([{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: `pkg:deb/debian/${enc(l.name)}@${enc(l.version)}?arch=${l.architecture}&distro=stable` }]);
        expect(p.licenseDeclared).toBe(p.name === "hello" ? "GPL-3.0-or-later" : "NOASSERTION");
      }
      // Where the layer carries a package's copyright file, the SBOM says so (the fixture's
      // netbase ships none).
      const pkg = (name: string) => doc.packages.find((p) => p.name === name)!;
      expect(pkg("hello").attributionTexts).toEqual(["The package's copyright and licence notice is /usr/share/doc/hello/copyright in the image."]);
      expect(pkg("netbase").attributionTexts).toBeUndefined();
      expect(new Set([...doc.packages, ...doc.files].map((p) => p.SPDXID)).size).toBe(doc.packages.length + doc.files.length);
    }
  });

  it("has a DEPENDS_ON edge for each step of each reason chain in the lock, and no other", () => {
    for (const arch of ARCHES) {
      const doc = docs[arch]!;
      const locked = lock.architectures[arch]!.packages;
      const idOf = new Map(doc.packages.map((p) => [p.name, p.SPDXID]));
      const want = new Set<string>();
      for (const p of locked) {
        for (const chain of p.reasons) {
          const names = chain.split(" → ").slice(1);
          for (let i = 0; i + 1 < names.length; i++) want.add(`${idOf.get(names[i]!)} ${idOf.get(names[i + 1]!)}`);
        }
      }
      expect(want.size).toBeGreaterThan(0);
      const got = doc.relationships.filter((r) => r.relationshipType === "DEPENDS_ON").map((r) => `${r.spdxElementId} ${r.relatedSpdxElement}`);
      expect(new Set(got)).toEqual(want);
      expect(got).toHaveLength(want.size);
    }
  });

  it("lists the --add layer's files with their checksums", () => {
    for (const arch of ARCHES) {
      const doc = docs[arch]!;
      const pkg = doc.packages.find((p) => p.name === "app.tar")!;
      const app = doc.files.find((x) => x.fileName === "./usr/local/bin/app")!;
      expect(app.checksums).toEqual([
        { algorithm: "SHA1", checksumValue: sha1("#!/app\n") },
        { algorithm: "SHA256", checksumValue: sha256("#!/app\n") },
      ]);
      expect(pkg.filesAnalyzed).toBe(true);
      expect(pkg.hasFiles).toEqual([app.SPDXID]);
      expect(related(doc, pkg.SPDXID, "CONTAINS")).toEqual([app.SPDXID]);
      // SPDX 2.3 §7.9 with one file: the SHA1 of that file's SHA1.
      expect(pkg.packageVerificationCode).toEqual({ packageVerificationCodeValue: sha1(sha1("#!/app\n")) });
    }
  });

  it("is the same bytes when made again from the same inputs elsewhere", async () => {
    const dir = out("sbom-again");
    await imageWith(f, { output: dir, add: [addTar], sbom: join(dir + "-sbom-{arch}.json"), supplier: SUPPLIER });
    for (const arch of ARCHES) expect(await readFile(`${dir}-sbom-${arch}.json`, "utf8")).toBe(texts[arch]);
  });

  it("names a docker-archive's image by its RepoTag and the manifest it has in an OCI layout", async () => {
    const tar = out("sbom.tar");
    const sbomFile = `${tar}.spdx.json`;
    await imageWith(f, { output: tar, arches: ["arm64"], add: [addTar], tag: "example/app:1.0", sbom: sbomFile });
    const doc = json<Spdx>(await readFile(sbomFile, "utf8"));
    expect(purl(doc, doc.documentDescribes[0]!)).toBe(`pkg:oci/app@sha256%3A${manifests.arm64!.slice(7)}?arch=arm64&tag=1.0`);
  });

  it.skipIf(!canUmoci)("lists every generated regular file with checksums of the bytes in the image", async () => {
    for (const arch of ARCHES) {
      const doc = docs[arch]!;
      const bundle = `${bundleRoot}-bundle-${arch}`;
      await must("umoci", ["unpack", "--image", `${bundleRoot}:latest-${arch}`, bundle]);
      const want = lock.architectures[arch]!.derivations.flatMap((d) => d.outputs.filter((o) => o.type === "file").map((o) => ({ ...o, recipe: d.recipe })));
      expect(want.length).toBeGreaterThan(0);
      expect(doc.files.filter((x) => x.comment?.startsWith("Generated by")).map((x) => x.fileName).sort()).toEqual(want.map((w) => "." + w.path).sort());
      for (const w of want) {
        const file = doc.files.find((x) => x.fileName === "." + w.path)!;
        const bytes = await readFile(join(bundle, "rootfs", w.path));
        expect(file.checksums).toEqual([
          { algorithm: "SHA1", checksumValue: sha1(bytes) },
          { algorithm: "SHA256", checksumValue: w.sha256 },
        ]);
        expect(file.comment).toContain(`recipe ${w.recipe}`);
        expect(doc.relationships).toContainEqual({ spdxElementId: doc.documentDescribes[0], relationshipType: "CONTAINS", relatedSpdxElement: file.SPDXID });
      }
      // The CA bundle is generated from ca-certificates' files.
      const bundleFile = doc.files.find((x) => x.fileName === "./etc/ssl/certs/ca-certificates.crt")!;
      const caPkg = doc.packages.find((p) => p.name === "ca-certificates")!;
      expect(doc.relationships).toContainEqual({ spdxElementId: bundleFile.SPDXID, relationshipType: "GENERATED_FROM", relatedSpdxElement: caPkg.SPDXID });
    }
  });
});

describe("docker-archive", () => {
  it.skipIf(!hasSkopeo)("writes a single-architecture archive that skopeo reads", async () => {
    const tar = out("image.tar");
    const r = await imageWith(f, { output: tar, arches: ["arm64"], tag: "example/app", entrypoint: ["/usr/local/bin/app"], add: [addTar] });
    expect(r.format).toBe("docker-archive");
    const inspect = json<{ Architecture: string; Env: string[]; Layers: string[]; Created: string }>(await must("skopeo", ["inspect", `docker-archive:${tar}`]));
    expect(inspect.Architecture).toBe("arm64");
    expect(inspect.Created).toBe(created);
    expect(inspect.Layers).toEqual([lock.architectures.arm64!.layer.diffId, "sha256:" + sha256(await readFile(addTar))]);
    const config = json<{ config: { Entrypoint: string[] } }>(await must("skopeo", ["inspect", "--config", `docker-archive:${tar}`]));
    expect(config.config.Entrypoint).toEqual(["/usr/local/bin/app"]);
    const manifest = json<Array<{ RepoTags: string[]; Layers: string[] }>>(await must("tar", ["-xOf", tar, "manifest.json"]));
    expect(manifest[0]!.RepoTags).toEqual(["example/app:latest"]);
    // The layer file is the uncompressed lock layer: its name and content hash are the diff_id.
    const layerName = manifest[0]!.Layers[0]!;
    const layerSha = (await must("sh", ["-c", `tar -xOf "$1" "$2" | sha256sum`, "sh", tar, layerName])).split(/\s/)[0];
    expect(`sha256:${layerSha}`).toBe(lock.architectures.arm64!.layer.diffId);
  });

  it("takes the architecture by OCI platform as well, for the same bytes", async () => {
    const byArch = out("by-arch.tar");
    const byPlatform = out("by-platform.tar");
    await imageWith(f, { output: byArch, arches: ["arm64"], add: [addTar] });
    await imageWith(f, { output: byPlatform, platforms: ["linux/arm64"], add: [addTar] });
    expect(sha256(await readFile(byPlatform))).toBe(sha256(await readFile(byArch)));
  });

  it("needs --arch when the lock has several architectures", async () => {
    const e = await rejection(imageWith(f, { output: out("multi.tar") }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/amd64, arm64/);
  });
});

describe("refusals and replacement", () => {
  it("refuses a --supplier that is not SPDX's Person: or Organization: form, and one for a file carrier, before building anything", async () => {
    for (const supplier of ["Example Ltd", "Organisation: Example", "Organization: ", "Person: a\nb"]) {
      const e = await rejection(imageWith(f, { output: out("supplier"), supplier }));
      expect(e, supplier).toBeInstanceOf(UsageError);
      expect(e.message).toContain(JSON.stringify(supplier));
    }
    const e = await rejection(imageWith(f, { output: out("supplier"), noLock: true, arches: ["amd64"], add: [addTar], supplier: "Person: Jane Doe" }));
    expect(e.message).toMatch(/--no-lock.*no SBOM/);
    expect(existsSync(out("supplier"))).toBe(false);
  });

  it("refuses a shell-form entrypoint before building anything", async () => {
    const e = await rejection(imageWith(f, { output: out("shell"), entrypoint: ["sh -c /app"] }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.exitCode).toBe(2);
    expect(existsSync(out("shell"))).toBe(false);
  });

  it("refuses a non-empty directory that is not an OCI layout, and leaves it alone", async () => {
    const dir = out("precious");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "notes.txt"), "keep me\n");
    const e = await rejection(imageWith(f, { output: dir }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain(dir);
    expect(await readdir(dir)).toEqual(["notes.txt"]);
  });

  it("replaces an existing OCI layout, leaving no temp dirs behind", async () => {
    const parent = out("replace");
    const dir = join(parent, "img");
    await mkdir(parent, { recursive: true });
    const first = await imageWith(f, { output: dir });
    const second = await imageWith(f, { output: dir, entrypoint: ["/usr/local/bin/app"] });
    expect(second.index!.digest).not.toBe(first.index!.digest);
    const index = json<IndexJson>(await readFile(join(dir, "index.json"), "utf8"));
    expect(index.manifests[0]!.digest).toBe(second.index!.digest);
    expect(await readdir(parent)).toEqual(["img"]);
  });

  it("refuses an --add tar that writes through a symlink of the lock's layer (exit 1), naming the tar, the member and the link", async () => {
    // The tzdata set makes /etc/localtime a symlink; an applier would follow it.
    const tar = join(f.work, "through-localtime.tar");
    await writeFile(tar, await buildTar([{ path: "./etc/", type: "dir" }, { path: "./etc/localtime/zone", type: "file", content: "x\n" }]));
    const dir = out("over-layer");
    const e = await rejection(imageWith(f, { output: dir, arches: ["amd64"], add: [tar] }));
    expect(e).toBeInstanceOf(CheckFailedError);
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain(`--add ${tar}: member "./etc/localtime/zone": would be written through /etc/localtime, a symlink to /usr/share/zoneinfo/Europe/Amsterdam (the layer of ${basename(f.lockfile)} (amd64))`);
    expect(existsSync(dir)).toBe(false);
  });

  it("refuses a lock whose gzip digest the rebuilt layer does not match (exit 1)", async () => {
    const tampered = { ...lock, architectures: { ...lock.architectures } };
    const amd = structuredClone(lock.architectures.amd64!);
    amd.layer.compressed.gzip!.digest = "sha256:" + "0".repeat(64);
    tampered.architectures.amd64 = amd;
    const lockfile = join(f.work, "out", "tampered.lock");
    await writeFile(lockfile, JSON.stringify(tampered, null, 2) + "\n");
    const e = await rejection(imageWith({ ...f, lockfile }, { output: out("tampered") }));
    expect(e).toBeInstanceOf(CheckFailedError);
    expect(e.exitCode).toBe(1);
    expect(e.message).toMatch(/amd64 layer/);
    expect(e.message).toContain("0".repeat(64));
  });
});

describe("the CLI", () => {
  let main: string;
  beforeAll(async () => {
    main = await compileCli(join(f.work, "cli"));
  });

  const cli = (args: string[], env: Record<string, string>, umask: string) =>
    run("sh", ["-c", `umask ${umask}; exec "$0" "$@"`, process.execPath, main, "image", "--lockfile", f.lockfile, "--cache", f.cache, "--mirror", f.server.url, ...args], { env: cleanEnv(env) });

  it("is deterministic across TZ, locale and umask", async () => {
    const a = out("det-a");
    const b = out("det-b");
    const ra = await cli(["--output", a, "--add", addTar, "--entrypoint", "/usr/local/bin/app", "--json"], { TZ: "Pacific/Kiritimati", LC_ALL: "C" }, "077");
    const rb = await cli(["--output", b, "--add", addTar, "--entrypoint", "/usr/local/bin/app", "--json"], { TZ: "America/Los_Angeles", LANG: "C.UTF-8" }, "022");
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(json<{ index: { digest: string } }>(ra.stdout).index.digest).toBe(json<{ index: { digest: string } }>(rb.stdout).index.digest);
    expect(await readFile(join(a, "index.json"))).toEqual(await readFile(join(b, "index.json")));
    const blobs = async (d: string) => (await readdir(join(d, "blobs/sha256"))).sort();
    expect(await blobs(a)).toEqual(await blobs(b));
    // Files are world-readable whatever the umask.
    for (const name of await blobs(a)) expect((await lstat(join(a, "blobs/sha256", name))).mode & 0o777).toBe(0o644);
    expect((await lstat(a)).mode & 0o777).toBe(0o755);
  });

  it("exits 2 on a shell-form entrypoint and 1 on an --add with an absolute member", async () => {
    const shell = await cli(["--output", out("cli-shell"), "--entrypoint", "/app --port 80"], {}, "022");
    expect(shell.code).toBe(2);
    expect(shell.stderr).toMatch(/shell-form/);
    const abs = join(f.work, "abs.tar");
    await must("tar", ["-P", "-cf", abs, addTar]);
    const r = await cli(["--output", out("cli-abs"), "--add", abs], {}, "022");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/absolute member path refused/);
  });
});
