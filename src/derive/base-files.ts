/**
 * The accounts and directories every distroless-style image has: /etc/passwd and /etc/group
 * (root 0, nobody 65534, nonroot 65532), /etc/nsswitch.conf, /root, /home/nonroot, /tmp, and
 * the /etc/os-release link base-files makes.
 *
 * passwd is distroless's, line for line. distroless's group file also has tty (5) and staff
 * (50); the README ("Layers", step 3) names only root, nobody and nonroot, so those three are
 * written, in passwd's order. distroless's nsswitch.conf is Debian's old default (compat, db
 * and nis services); a scratch layer has none of those NSS modules, so ours names only the
 * built-in `files` (and `dns` for hosts, which is what Go's resolver and glibc read):
 * the lookups that matter resolve the same way.
 */
import { InputSet, dirNode, fileNode, finish, symlinkNode, type OutputNode } from "./node.js";
import type { Derivation, DerivationInput } from "./types.js";
import { BASE_RECIPE } from "../model/builtin-file-sets.js";

export const BASE_FILES_RECIPE = BASE_RECIPE;
const BASE_FILES_VERSION = "1";

const NONROOT_UID = 65532;

export const PASSWD =
  "root:x:0:0:root:/root:/sbin/nologin\n" +
  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
  "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";

export const GROUP = "root:x:0:\n" + "nobody:x:65534:\n" + "nonroot:x:65532:\n";

const NSSWITCH =
  "# /etc/nsswitch.conf: only services built into glibc (no compat/db/nis modules in this layer)\n" +
  "passwd:         files\n" +
  "group:          files\n" +
  "shadow:         files\n" +
  "gshadow:        files\n" +
  "\n" +
  "hosts:          files dns\n" +
  "networks:       files\n" +
  "\n" +
  "protocols:      files\n" +
  "services:       files\n" +
  "ethers:         files\n" +
  "rpc:            files\n";

export function baseFiles(input: DerivationInput, _opts: Record<string, never> = {}): Derivation {
  const inputs = new InputSet();
  const outputs: OutputNode[] = [
    fileNode("/etc/passwd", PASSWD),
    fileNode("/etc/group", GROUP),
    fileNode("/etc/nsswitch.conf", NSSWITCH),
    dirNode("/root", 0o700),
    dirNode("/home/nonroot", 0o700, NONROOT_UID, NONROOT_UID),
    dirNode("/tmp", 0o1777),
  ];
  // base-files ships /etc/os-release → ../usr/lib/os-release itself; add the link only when a
  // file set took /usr/lib/os-release without it.
  const osRelease = input.nodes.get("/usr/lib/os-release");
  if (osRelease !== undefined && !input.nodes.has("/etc/os-release")) {
    if (osRelease.type === "symlink") inputs.add(osRelease.path, osRelease.target ?? "");
    else if (osRelease.type === "file") inputs.addFile(osRelease.path, osRelease);
    outputs.push(symlinkNode("/etc/os-release", "../usr/lib/os-release"));
  }
  return finish(BASE_FILES_RECIPE, BASE_FILES_VERSION, {}, inputs, outputs);
}
