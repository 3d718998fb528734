import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { examples, type App } from '../app.js';
import { ExitCode, UsageError } from '../errors.js';
import { selectServers } from '../farm/load.js';
import { describeWindow, parseTime } from '../logs/window.js';
import { addWindowOptions, windowFromFlags, windowJson, windowNotice, zoneFor, type WindowFlags } from './window-options.js';
import { prefillIncident, renderIncidentMarkdown, renderIncidentText, withAnswers, type IncidentPrefill, type Topic } from '../incident/prefill.js';
import { MissingAnswersError, PRIORITIES, QUESTIONS, parseAnswers, type IncidentAnswers, type Priority, type Question } from '../incident/questions.js';
import { PRIORITY_LABEL } from '../incident/priority.js';
import { buildEscalation, buildSpeedup, checkPriorityRaise, followupMissing, SPEEDUP_REQUESTS, type SpeedupRequest } from '../incident/followups.js';
import { askQuestions, confirmVeryHigh } from '../ui/incident-prompts.js';
import type { Io } from '../ui/io.js';
import { registerServiceCommands } from './service.js';
import { addSaveOptions, saveAnswersLater, saveResults, type SaveOptions } from './save-output.js';
import { createOutgoing, writeAnonMap, type Outgoing } from '../bundle/outgoing.js';
import type { Farm } from '../farm/load.js';
import { buildTimeline, farmTimeline, type TimelineResult } from '../incident/timeline.js';
import { renderTimelineText } from '../incident/timeline-text.js';
import { renderTimelinePage } from '../incident/timeline-page.js';
import { openBundleLogs } from '../collect/bundle-logs.js';
import { writeFileAtomic } from '../atomic-file.js';

/**
 * Everything these commands print goes to SAP: through the redaction rules and the local-path
 * filter, and with --anonymize one Anonymizer for the whole run (its mapping written privately).
 */
function outgoingFor(farm: Farm, opts: Record<string, unknown>, cwd: string, answers: IncidentAnswers): Outgoing {
  return createOutgoing({ farm, cwd, anonymize: Boolean(opts.anonymize), keep: [answers.contactName, answers.contactPhone, answers.contactEmail] });
}

async function saveMapping(io: Io, out: Outgoing, opts: Record<string, unknown>, cwd: string, what: string): Promise<void> {
  if (!out.anonymizer) return;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const file = resolve(cwd, typeof opts.anonMap === 'string' ? opts.anonMap : `clk-${what}-${stamp}.anon-map.json`);
  try {
    const warning = await writeAnonMap(file, out.anonymizer, { for: what });
    if (warning) io.warn(warning);
  } catch (err) {
    throw new UsageError(`--anon-map: cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { hint: 'name a new file with --anon-map (an existing one is never replaced)' });
  }
  io.info(`anonymised: the private mapping is in ${file} (keep it; do not send it)`);
}

function addAnonymizeOptions(cmd: Command): Command {
  return cmd
    .option('--anonymize', 'replace host names (with their domains), IPs and user names with tokens, one mapping for the run')
    .option('--anon-map <file>', 'where to write the private mapping with --anonymize (default ./clk-incident-<command>-<UTC>.anon-map.json; an existing file is never replaced)');
}
import { plural } from '../format.js';

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every answer flag on a command (the same flags on prefill, speedup and escalate). */
function addAnswerOptions(cmd: Command, only?: (q: Question) => boolean): Command {
  cmd.option('--answers <file>', 'answers as JSON (keys: shortDescription, steps, systemDown, processes, usersAffected, workaround, deadlines, financialImpact, gettingWorse, goLiveDate, showstopper, contactName, contactPhone, contactEmail); flags override it');
  for (const q of QUESTIONS.filter(only ?? (() => true))) cmd.option(`${q.flag} <${q.type === 'yesno' ? 'yes|no' : q.type}>`, q.prompt);
  cmd.option('--confirm-very-high', 'confirm that SAP Note 67739 conditions for Very High hold (production down / go-live blocked / core processes seriously affected, no workaround)');
  return cmd;
}

async function loadAnswers(opts: Record<string, unknown>, cwd: string): Promise<IncidentAnswers> {
  let fromFile: IncidentAnswers = {};
  if (typeof opts.answers === 'string') {
    const file = resolve(cwd, opts.answers);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--answers: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`--answers: ${file} is not valid JSON (${(err as Error).message})`);
    }
    fromFile = await parseAnswers(raw, file);
  }
  const fromFlags: Record<string, unknown> = {};
  for (const q of QUESTIONS) {
    const v = opts[camel(q.flag)];
    if (v !== undefined) fromFlags[q.id] = v;
  }
  if (opts.confirmVeryHigh) fromFlags.confirmVeryHigh = true;
  if (typeof opts.priority === 'string') fromFlags.priority = opts.priority;
  return { ...fromFile, ...(await parseAnswers(fromFlags, 'flags')) };
}

/** Ask for what is missing on a terminal; off a terminal, name every missing flag. */
async function completeAnswers(io: Io, missing: Question[], answers: IncidentAnswers, defaults: Partial<Record<keyof IncidentAnswers, string>> = {}): Promise<IncidentAnswers> {
  if (missing.length === 0) return answers;
  if (!io.canPrompt) throw new MissingAnswersError(missing);
  return askQuestions(io, missing, answers, defaults);
}

/** `incident ...` and the `service request` that often follows one (one registration for both). */
export function registerIncidentCommands(program: Command, app: App): void {
  registerServiceCommands(program, app);
  const incident = examples(program.command('incident').description('SAP incidents: prefill the form from the farm and its logs, speed-up and escalation texts'), ['clk-support incident prefill --around 2026-11-20T09:30Z --span 2h', 'clk-support incident speedup --incident 123456/2026 --request priority --current-priority medium --new-priority high', 'clk-support incident escalate --incident 123456/2026 --answers answers.json']);

  const prefill = addWindowOptions(
    incident.command('prefill').description('fill in everything the farm and its logs can tell for an SAP incident; ask only for the rest'),
    { to: 'now', span: 'default: 24h back from --to, forward from --from, or 2h with --around' },
  )
    .option('-s, --server <name...>', 'only these servers')
    .addOption(new Option('--topic <topic>', 'technical (XX-PART-CLK) or license (XX-PART-CLK-LKY); auto decides from the errors').choices(['auto', 'technical', 'license']).default('auto'))
    .option('--bundle <zip>', 'the bundle from collect, listed as the attachment')
    .option('--changes-since <time>', 'look for installs, updates and modified files from here (default 7 days before the window)')
    .option('--error-token <token...>', 'what makes a Tracer line an error line (case-sensitive; default ERROR FATAL Exception)')
    .option('--user-pattern <regex...>', 'how to find the user in an error line: a regular expression with a group (?<user>...) (case-insensitive); replaces the defaults')
    .addOption(new Option('--priority <priority>', 'override the suggested priority').choices([...PRIORITIES]))
    .addOption(new Option('--format <format>', 'output format (--json for JSON)').choices(['text', 'markdown']).default('text'));
  addAnswerOptions(prefill);
  addSaveOptions(prefill);
  addAnonymizeOptions(prefill);
  examples(
    prefill.action(async (opts: Record<string, unknown>, cmd: Command) => {
      const io = app.io(cmd);
      if (opts.tz !== undefined) zoneFor(opts as WindowFlags); // a bad --tz fails before the farm is read
      saveResults(app, io, opts as SaveOptions);
      const farm = await app.farm(cmd);
      const zone = zoneFor(opts as WindowFlags, farm);
      const window = windowFromFlags(opts as WindowFlags, zone);
      if (!app.globals(cmd).json) io.info(windowNotice(window));
      const servers = selectServers(farm, opts.server as string[] | undefined).map((s) => s.name);
      let answers = await loadAnswers(opts, app.cwd);
      saveAnswersLater(app, io, opts as SaveOptions, () => answers);
      const spinner = io.spinner(`Reading ${plural(servers.length, 'server')} of ${farm.farm.name}`);
      let result: IncidentPrefill;
      try {
        result = await prefillIncident(farm, {
          window,
          servers,
          topic: opts.topic as Topic,
          answers,
          bundlePath: opts.bundle as string | undefined,
          changesSince: opts.changesSince ? parseTime(opts.changesSince as string, '--changes-since', undefined, zone) : undefined,
          errorTokens: opts.errorToken as string[] | undefined,
          userPatterns: opts.userPattern as string[] | undefined,
          signal: app.signal,
          onProgress: (m) => spinner.update(m),
        });
      } catch (err) {
        spinner.fail();
        throw err;
      }
      spinner.succeed(
        `${result.affectedUsers.total} user(s) affected, first error ${result.firstOccurrence ? result.firstOccurrence.time : 'none'}, ${result.changes.events.length + result.changes.files.length} change(s)`,
      );
      // Nothing found is a finding (the form says "no errors"), not a failure: warn about the window, exit unchanged.
      if (!result.firstOccurrence && result.servers.some((s) => s.reachable))
        result.warnings.push(
          `no error found in the window ${describeWindow(window)} on any reachable server: if the incident happened then, check the window` +
            (window.assumedZone ? ` (times without a zone were read as ${window.assumedZone}: use --tz or the farm's settings.timeZone)` : ''),
        );
      for (const w of result.warnings) io.warn(w);
      if (result.versions.mismatch) io.warn(`servers on different builds: ${Object.entries(result.versions.byVersion).map(([v, s]) => `${v} on ${s.join(', ')}`).join('; ')}`);

      // Ask for the rest (on a terminal), or stop naming every missing flag after printing what is known.
      if (result.missing.length && io.canPrompt) {
        io.info(io.c.bold(`\nFrom the farm: ${result.component.id}, ${result.affectedUsers.total} user(s) seen in errors, first error ${result.firstOccurrence?.time ?? 'none'}.`));
        io.info('Now what only you can tell SAP (SAP Note 1281633):');
        const missingQs = QUESTIONS.filter((q) => result.missing.some((m) => m.id === q.id));
        answers = await completeAnswers(io, missingQs, answers, { usersAffected: `${result.affectedUsers.total} users (seen in error logs)` });
        result = withAnswers(result, answers);
      }
      if (result.priority.eligibleForVeryHigh && !answers.confirmVeryHigh && io.canPrompt) {
        if (await confirmVeryHigh(io, result.priority.reasons)) {
          answers = { ...answers, confirmVeryHigh: true };
          const contact = QUESTIONS.filter((q) => (q.id === 'contactName' || q.id === 'contactPhone') && !answers[q.id]);
          if (contact.length) answers = await askQuestions(io, contact.map((q) => ({ ...q, required: true })), answers);
          result = withAnswers(result, answers);
        }
      }
      // Filtered before rendering, so that padding and tables are computed on what is shown.
      const outgoing = outgoingFor(farm, opts, app.cwd, answers);
      outgoing.users(result.affectedUsers.users);
      const shown = outgoing.value(result);
      if (app.globals(cmd).json) io.json({ ...shown, window: windowJson(window) });
      else io.out(outgoing.text(opts.format === 'markdown' ? renderIncidentMarkdown(shown) : renderIncidentText(shown)));
      await saveMapping(io, outgoing, opts, app.cwd, 'incident-prefill');
      if (result.priority.veryHighNeeds.length) io.info(`Very High not taken: needs ${result.priority.veryHighNeeds.join('; ')}`);
      if (result.missing.length) throw new MissingAnswersError(result.missing.map((m) => ({ flag: m.flag, prompt: m.prompt })));
      // Partial: a server not reached, or logs of a reached one that could not be listed or read.
      if (result.servers.some((s) => !s.reachable) || result.unread.length) app.report(ExitCode.partial);
    }),
    [
      'clk-support incident prefill --from 2025-06-03T08:00:00Z --to 2025-06-03T12:00:00Z',
      'clk-support --no-input incident prefill --around 2025-06-03T10:30Z --span 4h --answers answers.json',
      'clk-support --json incident prefill --from -6h --topic license --answers answers.json',
      'clk-support incident prefill --from -2h --format markdown --user-pattern "Operator=(?<user>\\S+)" --error-token ERROR FATAL',
    ],
  );

  const timeline = addWindowOptions(
    incident.command('timeline').description('one farm-wide timeline in UTC (clock offsets applied): errors, affected users and perfmon counters per minute, changes and the first occurrence as marks'),
    { to: 'now (with --bundle: the bundle\'s window)', span: 'default: 24h back from --to, forward from --from, or 2h with --around' },
  )
    .option('-s, --server <name...>', 'only these servers')
    .option('--bundle <zip>', 'read a bundle written by collect instead of the farm (verified first; no farm file needed)')
    .addOption(new Option('--format <format>', 'text: a table per bucket, marks, first occurrence and findings; json: the timeline document (as --json)').choices(['text', 'json']).default('text'))
    .option('--html <file>', 'also write the timeline as one self-contained HTML page (an existing file is replaced only with --force)')
    .option('--error-token <token...>', 'what makes a Tracer line an error line (case-sensitive; default ERROR FATAL Exception)')
    .option('--user-pattern <regex...>', 'how to find the user in an error line: a regular expression with a group (?<user>...) (case-insensitive); replaces the defaults');
  addSaveOptions(timeline, false);
  addAnonymizeOptions(timeline);
  examples(
    timeline.action(async (opts: Record<string, unknown>, cmd: Command) => {
      const io = app.io(cmd);
      const flags = opts as WindowFlags;
      if (opts.tz !== undefined) zoneFor(flags); // a bad --tz fails before anything is read
      saveResults(app, io, opts as SaveOptions);
      const json = app.globals(cmd).json || opts.format === 'json';
      const wanted = (opts.server as string[] | undefined)?.map((s) => s.toLowerCase());
      let result: TimelineResult;
      let outgoing: Outgoing;
      const spinner = io.spinner(opts.bundle ? `Reading ${String(opts.bundle)}` : 'Reading the farm');
      try {
        if (typeof opts.bundle === 'string') {
          const file = resolve(app.cwd, opts.bundle);
          const bundle = await openBundleLogs(file, app.signal);
          try {
            const given = flags.from !== undefined || flags.to !== undefined || flags.around !== undefined;
            const window = given || !bundle.window ? windowFromFlags(flags, zoneFor(flags)) : bundle.window;
            if (!json) io.info(windowNotice(window));
            const servers = bundle.servers.filter((s) => !wanted || wanted.includes(s.name.toLowerCase()));
            if (wanted && servers.length < wanted.length) throw new UsageError(`--server: not in the bundle: ${wanted.filter((w) => !servers.some((s) => s.name.toLowerCase() === w)).join(', ')}`, { hint: `the bundle has ${bundle.servers.map((s) => s.name).join(', ')}` });
            result = await buildTimeline({
              farm: bundle.farm,
              source: { kind: 'bundle', path: file },
              window,
              servers,
              errorTokens: opts.errorToken as string[] | undefined,
              userPatterns: opts.userPattern as string[] | undefined,
              signal: app.signal,
              onProgress: (m) => spinner.update(m),
              warnings: bundle.warnings,
            });
          } finally {
            await bundle.close();
          }
          outgoing = createOutgoing({ cwd: app.cwd, anonymize: Boolean(opts.anonymize) });
          for (const s of result.timeline.servers) outgoing.anonymizer?.addHost(s.name);
        } else {
          const farm = await app.farm(cmd);
          const window = windowFromFlags(flags, zoneFor(flags, farm));
          if (!json) io.info(windowNotice(window));
          result = await farmTimeline(farm, {
            window,
            servers: selectServers(farm, opts.server as string[] | undefined).map((s) => s.name),
            errorTokens: opts.errorToken as string[] | undefined,
            userPatterns: opts.userPattern as string[] | undefined,
            signal: app.signal,
            onProgress: (m) => spinner.update(m),
          });
          outgoing = outgoingFor(farm, opts, app.cwd, {});
        }
      } catch (err) {
        spinner.fail();
        throw err;
      }
      const t = result.timeline;
      spinner.succeed(`${plural(t.users.total, 'user')} affected, first error ${t.firstOccurrence?.time ?? 'none'}, ${plural(t.marks.length, 'mark')}, ${t.series.length} series`);
      for (const w of t.warnings) io.warn(w);
      // Filtered before rendering (text, JSON and page alike), so that widths say nothing about real names.
      outgoing.users(result.users);
      const shown = outgoing.value(t);
      if (typeof opts.html === 'string') {
        const file = resolve(app.cwd, opts.html);
        const { backup } = await writeFileAtomic(file, await renderTimelinePage(shown), { replace: Boolean(opts.force), replaceFlag: '--force' });
        io.info(`wrote ${file}${backup ? ` (the previous file is kept as ${backup})` : ''}`);
      }
      if (json) io.json(shown);
      else io.out(renderTimelineText(shown));
      await saveMapping(io, outgoing, opts, app.cwd, 'incident-timeline');
      // Partial: a server not reached, or logs of a reached one that could not be listed or read.
      if (t.servers.some((s) => !s.reachable) || result.unread.length) app.report(ExitCode.partial);
    }),
    [
      'clk-support incident timeline --from 2025-06-03T08:00:00Z --to 2025-06-03T12:00:00Z',
      'clk-support incident timeline --around 2025-06-03T10:30Z --span 4h --html timeline.html',
      'clk-support --json incident timeline --bundle FSP_20250603-120000_1a2b3c4d.zip',
      'clk-support incident timeline --from -2h --anonymize --format json --out timeline.json',
    ],
  );

  const priorityOption = (flag: string, desc: string) => new Option(flag, desc).choices([...PRIORITIES]);

  const speedup = incident
    .command('speedup')
    .description('text for a speed-up of an open incident (priority change, processor, progress feedback), with the business impact SAP asks for')
    .requiredOption('--incident <number>', 'the SAP incident number, e.g. 123456/2025')
    .addOption(new Option('--request <kind>', 'what to ask for').choices([...SPEEDUP_REQUESTS]).makeOptionMandatory())
    .addOption(priorityOption('--new-priority <priority>', 'the priority asked for (with --request priority)'))
    .addOption(priorityOption('--current-priority <priority>', 'the priority the incident has now'))
    .option('--availability <text>', 'when the contact can be reached, e.g. "24x7" or "08:00-18:00 CET"');
  addAnswerOptions(speedup, (q) => q.id !== 'shortDescription' && q.id !== 'steps');
  addSaveOptions(speedup);
  addAnonymizeOptions(speedup);
  examples(
    speedup.action(async (opts: Record<string, unknown>, cmd: Command) => {
      const io = app.io(cmd);
      saveResults(app, io, opts as SaveOptions);
      const farm = await app.farm(cmd);
      // Refused before any question is asked.
      if (opts.request === 'priority') checkPriorityRaise(opts.currentPriority as Priority | undefined, opts.newPriority as Priority | undefined);
      let answers = await loadAnswers(opts, app.cwd);
      saveAnswersLater(app, io, opts as SaveOptions, () => answers);
      answers = await completeAnswers(io, followupMissing('speedup', farm.farm.environment, answers), answers);
      const r = buildSpeedup(farm, {
        incident: opts.incident as string,
        request: opts.request as SpeedupRequest,
        newPriority: opts.newPriority as Priority | undefined,
        currentPriority: opts.currentPriority as Priority | undefined,
        answers,
        availability: opts.availability as string | undefined,
      });
      const outgoing = outgoingFor(farm, opts, app.cwd, answers);
      const shown = outgoing.value(r);
      if (app.globals(cmd).json) io.json(shown);
      else io.out(shown.text);
      await saveMapping(io, outgoing, opts, app.cwd, 'incident-speedup');
    }),
    [
      'clk-support incident speedup --incident 123456/2025 --request priority --current-priority medium --new-priority high --answers impact.json',
      'clk-support --no-input incident speedup --incident 123456/2025 --request feedback --answers impact.json',
    ],
  );

  const escalate = incident
    .command('escalate')
    .description('text for a formal escalation of a critical incident (needs High or Very High, the business impact and a contact)')
    .requiredOption('--incident <number>', 'the SAP incident number, e.g. 123456/2025')
    .addOption(priorityOption('--current-priority <priority>', 'the priority the incident has now (must be high or very-high)').makeOptionMandatory())
    .option('--reason <text>', 'why the normal process is not enough (what happened so far)')
    .option('--availability <text>', 'when the contact can be reached, e.g. "24x7"');
  addAnswerOptions(escalate, (q) => q.id !== 'shortDescription' && q.id !== 'steps');
  addSaveOptions(escalate);
  addAnonymizeOptions(escalate);
  examples(
    escalate.action(async (opts: Record<string, unknown>, cmd: Command) => {
      const io = app.io(cmd);
      saveResults(app, io, opts as SaveOptions);
      const farm = await app.farm(cmd);
      let answers = await loadAnswers(opts, app.cwd);
      saveAnswersLater(app, io, opts as SaveOptions, () => answers);
      answers = await completeAnswers(io, followupMissing('escalate', farm.farm.environment, answers), answers);
      const r = buildEscalation(farm, {
        incident: opts.incident as string,
        currentPriority: opts.currentPriority as Priority,
        answers,
        availability: opts.availability as string | undefined,
        reason: opts.reason as string | undefined,
      });
      const outgoing = outgoingFor(farm, opts, app.cwd, answers);
      const shown = outgoing.value(r);
      if (app.globals(cmd).json) io.json(shown);
      else io.out(shown.text);
      await saveMapping(io, outgoing, opts, app.cwd, 'incident-escalate');
      io.info(`Escalations are for critical business situations at ${PRIORITY_LABEL.high} or ${PRIORITY_LABEL['very-high']}; the CIC numbers are in SAP Note 560499.`);
    }),
    [
      'clk-support incident escalate --incident 123456/2025 --current-priority high --answers impact.json --contact-name "A. Admin" --contact-phone "+49 30 1234" --availability 24x7',
    ],
  );
}
