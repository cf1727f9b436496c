import { GwError } from '../../core/errors.js';
import { labelProblem } from '../../core/node-label.js';
import type { EventLog } from '../events/event-log.js';
import { writeJsonAtomic } from '../storage/atomic-write.js';
import { SerialQueue } from '../storage/serial-queue.js';
import type { NodeFile } from './identity.js';

/**
 * This node's label (node.json, never synced): read live by status, the hello and the lists; a change
 * is checked, written atomically (node.json is rewritten whole, the rest of it unchanged), swapped
 * in, then announced (`node.settings.changed`). Changes run one at a time.
 */
export class NodeLabel {
  private readonly queue = new SerialQueue();
  private current: string;
  private file: NodeFile;

  constructor(
    private readonly path: string,
    node: NodeFile,
    label: string,
    private readonly events: Pick<EventLog, 'emit'>,
  ) {
    this.file = { ...node };
    this.current = label;
  }

  get label(): string {
    return this.current;
  }

  /** Set the label; an unchanged one writes and announces nothing. Bad input: GW_ERR_NODE_LABEL_INVALID. */
  set(label: string): Promise<{ label: string; previous: string; changed: boolean }> {
    return this.queue.run(async () => {
      const problem = labelProblem(label);
      if (problem) {
        throw new GwError('GW_ERR_NODE_LABEL_INVALID', { label: JSON.stringify(label), detail: problem }, { problems: [{ pointer: '/label', message: problem }] });
      }
      const previous = this.current;
      // A file from before labels gets one on its first change, even when it equals the default.
      if (label === previous && this.file.label === label) return { label, previous, changed: false };
      const next: NodeFile = { ...this.file, label };
      await writeJsonAtomic(this.path, next, { mode: 0o644 });
      this.file = next;
      this.current = label;
      if (label !== previous) this.events.emit('node.settings.changed', { changed: ['label'], label, previous });
      return { label, previous, changed: label !== previous };
    });
  }
}
