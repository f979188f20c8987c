/**
 * Commander's parse errors as one line naming the fix, as every other usage error (exit 2) is worded:
 * commander says what is wrong ("unknown option '-r'") but not what to type instead.
 */
import { statSync } from 'node:fs';

/** Names taken as capture files even when missing (so a typo is "no such file", not a filter or interface). */
export const CAPTURE_NAME = /(^-$|\/|\.(pcap|pcapng|cap|dmp|gz|zst|zstd)$)/i;

/** Whether `word` names a capture file: an existing regular file, or a name shaped like one. */
export function looksLikeCaptureFile(word: string): boolean {
  return CAPTURE_NAME.test(word) || existsAsFile(word);
}

/**
 * Why `name` can be no interface at all (standard input, a file, blank, spaces around a name), as one line
 * naming the fix: a usage error, not an interface missing; undefined for a name an interface may have.
 * `real`: this host's interfaces (no pseudo-devices), offered instead.
 */
export function notAnInterfaceName(name: string, real: string[]): string | undefined {
  const label = `capture.interface: ${JSON.stringify(name)}`;
  const offer = real.join(', ') || '(none found)';
  const trimmed = name.trim();
  if (trimmed === '') return `${label} is blank: name an interface, one of ${offer} (see \`rtpprobe interfaces\`)`;
  if (trimmed !== name && real.includes(trimmed)) return `${label} has spaces around the name: use ${JSON.stringify(trimmed)}`;
  if (name === '-') return `${label} is standard input, not an interface: to analyse a capture piped in, run \`rtpprobe replay -\``;
  if (!looksLikeCaptureFile(name)) return undefined;
  if (existsAsFile(name)) return `${label} is a capture file, not an interface: to analyse it, run \`rtpprobe replay ${name}\``;
  return `${label} names a file, not an interface, and there is no such file: to capture, use one of ${offer}; to analyse a capture file, run \`rtpprobe replay FILE\``;
}

function existsAsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * One line for a commander error (`code` and `message` of its CommanderError), given the words after the
 * program name and the names of the commands.
 */
export function usageErrorLine(code: string, message: string, words: string[], commands: string[]): string {
  const [first, ...more] = message.replace(/^error: /, '').split('\n');
  const problem = first.replace(/\.$/, '');
  const suggestion = /\(Did you mean (.*)\?\)/.exec(more.join(' '))?.[1];
  const command = words.find((w) => !w.startsWith('-'));
  const inCommand = command !== undefined && commands.includes(command) ? command : undefined;
  const who = inCommand ?? 'rtpprobe';
  const help = inCommand ? `\`rtpprobe ${inCommand} --help\`` : '`rtpprobe --help`';
  const replayOf = (file: string | undefined) => `\`rtpprobe replay ${file ?? 'FILE'}\``;
  const afterCommand = inCommand ? words.slice(words.indexOf(inCommand) + 1) : [];
  const operands = afterCommand.filter((w) => !w.startsWith('-'));

  if (code === 'commander.unknownCommand') {
    if (command !== undefined && looksLikeCaptureFile(command)) return `${problem}: to analyse a capture file, run ${replayOf(command)}`;
    return `${problem}: ${suggestion ? `did you mean ${suggestion}? ` : ''}see ${help} for the commands`;
  }
  if (code === 'commander.unknownOption') {
    // tcpdump's -r: the files of replay are its arguments; run and check-config read no file.
    if (/'-r'/.test(problem)) {
      const file = afterCommand[afterCommand.indexOf('-r') + 1];
      if (inCommand === 'replay') return `${problem}: replay takes the capture files as arguments: run ${replayOf(file)}`;
      return `${problem}: ${who} reads no capture file: to analyse one, run ${replayOf(file)}`;
    }
    return `${problem}: ${suggestion ? `did you mean ${suggestion}? ` : ''}see ${help} for the options`;
  }
  if (code === 'commander.excessArguments') {
    const file = operands.find(looksLikeCaptureFile);
    if (file !== undefined && inCommand !== 'replay') return `${problem}: ${who} reads no capture file: to analyse one, run ${replayOf(file)}`;
    return `${problem}: see ${help}`;
  }
  if (code === 'commander.missingArgument' && inCommand === 'replay') {
    return `${problem}: name the capture files, e.g. ${replayOf('call.pcap')}, or - for standard input`;
  }
  if (code === 'commander.optionMissingArgument') return `${problem}: give its value after it (see ${help})`;
  const choices = /^(.*)\. Allowed choices are (.*)$/.exec(problem);
  if (choices) return `${choices[1]}: use one of ${choices[2]}`;
  return `${problem}: see ${help}`;
}
