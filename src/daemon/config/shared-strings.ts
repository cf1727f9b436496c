/**
 * One string for each equal value given, as far as the first `max` distinct values (past them, a
 * value is returned as given: the table stays bounded whatever the input).
 *
 * 100,000 resources name a few authors and, per batch of changes, a few times, each parsed from its
 * own resource.json into a string of its own: shared, 200,000 copies become a handful (~7 MB).
 */
export class SharedStrings {
  private readonly known = new Map<string, string>();

  constructor(private readonly max = 4096) {}

  share(text: string): string {
    const known = this.known.get(text);
    if (known !== undefined) return known;
    if (this.known.size < this.max) this.known.set(text, text);
    return text;
  }
}
