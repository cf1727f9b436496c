// docs/benchmarks.md is partly written by hand (dated sections of runs measured figure by figure,
// with their circumstances) and partly by `npm run bench`: the last full run's table and a copy of
// bench/NOTES.md. A run rewrites only its two marked blocks; everything else is kept as it is.

export const RUN_BEGIN = '<!-- bench:run:begin (written by bench/run.mjs: the last full run) -->';
export const RUN_END = '<!-- bench:run:end -->';
export const NOTES_BEGIN = '<!-- bench:notes:begin (a copy of bench/NOTES.md, written by bench/run.mjs: edit that file) -->';
export const NOTES_END = '<!-- bench:notes:end -->';

const INTRO = `# Benchmarks

Measured by \`npm run bench\` (bench/run.mjs) with real gwd processes on loopback and a unix socket.
Machines here are shared and noisy, so every figure is reported with a baseline measured in the same
run, interleaved with it, and judged on the ratio.
`;

/** [start of begin marker, end of end marker] of a block, or null; throws on half a block. */
function block(doc, begin, end) {
  const b = doc.indexOf(begin);
  const e = doc.indexOf(end);
  if (b === -1 && e === -1) return null;
  if (b === -1 || e === -1 || e < b) throw new Error(`docs/benchmarks.md: markers ${begin} / ${end} are not a pair; fix them by hand`);
  return [b, e + end.length];
}

/**
 * The document with `run` (the run's section, starting "## Latest full run: ...") in the run block
 * and `notes` in the notes block. The previous run's section is kept, as a dated section right after
 * the block ("## Full run: <its date>"), so a run never drops a table. A document without the
 * blocks gets them: the run's after the first lines (before the first "## "), the notes' at the end.
 */
export function updateBenchmarksDoc(doc, { run, notes }) {
  let out = doc.trim() ? doc : INTRO;
  const runBlock = `${RUN_BEGIN}\n${run.trim()}\n${RUN_END}`;
  const at = block(out, RUN_BEGIN, RUN_END);
  if (at) {
    const previous = out.slice(at[0] + RUN_BEGIN.length, at[1] - RUN_END.length).trim();
    const kept = previous ? `\n\n${previous.replace(/^## Latest full run:/, '## Full run:')}` : '';
    out = out.slice(0, at[0]) + runBlock + kept + out.slice(at[1]);
  } else {
    const first = out.search(/^## /m);
    out = first === -1 ? `${out.trimEnd()}\n\n${runBlock}\n` : `${out.slice(0, first)}${runBlock}\n\n${out.slice(first)}`;
  }
  const notesBlock = `${NOTES_BEGIN}\n${notes.trim()}\n${NOTES_END}`;
  const nat = block(out, NOTES_BEGIN, NOTES_END);
  out = nat ? out.slice(0, nat[0]) + notesBlock + out.slice(nat[1]) : `${out.trimEnd()}\n\n${notesBlock}\n`;
  return out.endsWith('\n') ? out : `${out}\n`;
}
