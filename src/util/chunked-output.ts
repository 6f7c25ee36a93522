/**
 * A byte stream coalesced into fixed-size chunks before it reaches its sink: a tar is mostly
 * 512-byte headers and small files, and every sink (a hash, a compressor, a file write) pays
 * per call. Bytes can also be read straight into the free space (`space`/`advance`), which
 * saves a copy for data read from a file.
 */
export const OUTPUT_CHUNK = 1 << 20;

export class ChunkedOutput {
  private readonly buf = new Uint8Array(OUTPUT_CHUNK);
  private used = 0;
  /** Bytes written so far. */
  size = 0;

  /** Each chunk the sink receives is a view of a reused buffer: valid only during the call. */
  constructor(private readonly sink: (chunk: Uint8Array) => void) {}

  write(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      const room = this.space();
      const n = Math.min(room.length, bytes.length - at);
      room.set(bytes.subarray(at, at + n));
      this.advance(n);
      at += n;
    }
  }

  zeros(count: number): void {
    for (let left = count; left > 0; ) {
      const room = this.space();
      const n = Math.min(room.length, left);
      room.fill(0, 0, n);
      this.advance(n);
      left -= n;
    }
  }

  /** The free part of the buffer (never empty), for `advance` to take what was put at its start. */
  space(): Uint8Array {
    if (this.used === OUTPUT_CHUNK) this.flush();
    return this.buf.subarray(this.used);
  }

  advance(count: number): void {
    this.used += count;
    this.size += count;
    if (this.used === OUTPUT_CHUNK) this.flush();
  }

  /** Hand over what is buffered: at the end of the stream. */
  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.used = 0;
    this.sink(chunk);
  }
}
