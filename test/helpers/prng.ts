/** A small seeded PRNG (mulberry32): fuzz runs are repeatable from their seed. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    let t = (this.state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** A random JSON value of bounded depth: the shapes a confused client might send. */
  json(depth = 3): unknown {
    const kind = this.int(depth > 0 ? 8 : 5);
    switch (kind) {
      case 0: return null;
      case 1: return this.next() < 0.5;
      case 2: return this.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 65536, 8060]);
      case 3: return this.pick(['', 'x', 'Master', 'Backup', 'independent', '../../etc/passwd', '\u0000', 'é'.repeat(50), 'a'.repeat(5000)]);
      case 4: return this.pick([[], {}]);
      case 5: return Array.from({ length: this.int(4) }, () => this.json(depth - 1));
      default: {
        const keys = ['role', 'mode', 'version', 'file', 'masterAddress', 'port', 'data', '__proto__', 'constructor', 'enabled', 'systemName', 'x'];
        const o: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) o[this.pick(keys)] = this.json(depth - 1);
        return o;
      }
    }
  }
}
