/**
 * The Spring Kafka peer of the interop test: test/spring/SpringPeer.java compiled against
 * spring-kafka and its dependencies, resolved once from Maven Central with the machine's Maven
 * (test/spring/pom.xml) and cached under `~/.cache/bus/spring` (`BUS_SPRING_HOME`), beside the Kafka
 * jars; Maven's local repository is the infra's (`BUS_MAVEN_REPO`, default
 * `~/.cache/bus/infra/m2`). The cache key is a hash of the POM and the source, so an edit rebuilds.
 * The peer runs as a real JVM child that reports JSON lines on stdout and reads commands on stdin.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SOURCE_DIR = fileURLToPath(new URL('../spring/', import.meta.url));

function springHome(): string {
  return process.env.BUS_SPRING_HOME ?? join(homedir(), '.cache/bus/spring');
}

function mavenRepo(): string {
  return process.env.BUS_MAVEN_REPO ?? join(process.env.BUS_INFRA_HOME ?? join(homedir(), '.cache/bus/infra'), 'm2');
}

let built: Promise<string> | undefined;

/** The peer's class path, building it (once per machine and source version) when missing. */
export function springPeerClasspath(): Promise<string> {
  built ??= build().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

async function build(): Promise<string> {
  const pom = await readFile(join(SOURCE_DIR, 'pom.xml'));
  const source = await readFile(join(SOURCE_DIR, 'SpringPeer.java'));
  const hash = createHash('sha256').update(pom).update(source).digest('hex').slice(0, 12);
  const version = /<spring-kafka\.version>([^<]+)</.exec(pom.toString())?.[1] ?? 'unknown';
  const dir = join(springHome(), `spring-kafka-${version}-peer-${hash}`);
  const classpath = [join(dir, 'classes'), join(dir, 'lib', '*')].join(delimiter);
  if (existsSync(join(dir, '.complete'))) return classpath;
  // Built beside its final place and renamed into it, so a concurrent run never sees half a build.
  await mkdir(springHome(), { recursive: true });
  const staging = `${dir}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    await run(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        join(SOURCE_DIR, 'pom.xml'),
        `-Dmaven.repo.local=${mavenRepo()}`,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${join(staging, 'lib')}`,
        '-DincludeScope=runtime',
      ],
      600_000,
    );
    await run(
      'javac',
      [
        '-nowarn',
        '-parameters',
        '-cp',
        join(staging, 'lib', '*'),
        '-d',
        join(staging, 'classes'),
        join(SOURCE_DIR, 'SpringPeer.java'),
      ],
      120_000,
    );
    await writeFile(join(staging, '.complete'), `${version}\n`);
    await rename(staging, dir).catch((error: unknown) => {
      // Another run finished first: use its build.
      if (!existsSync(join(dir, '.complete'))) throw error;
    });
  } catch (error) {
    throw new Error(
      `Could not build the Spring Kafka peer (needs Maven, a JDK 17+ and Maven Central once): ${String(error)}`,
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return classpath;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** One JSON object the peer printed on a line. */
export type PeerEvent = Record<string, unknown> & { type?: string };

interface Waiter {
  predicate: (event: PeerEvent) => boolean;
  resolve: (event: PeerEvent) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** A running Spring peer; disposing it stops the JVM (SIGTERM, then SIGKILL). */
export class SpringPeer implements AsyncDisposable {
  readonly events: PeerEvent[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<Waiter>();
  #stderr = '';
  #exitCode: number | null | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-20_000);
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => this.#onLine(line));
    this.exited = new Promise((resolve) => {
      child.on('error', (error) => {
        this.#stderr += `\n${String(error)}`;
      });
      child.on('close', (code) => {
        this.#exitCode = code;
        for (const waiter of this.#waiters) this.#fail(waiter, `the peer exited (${code})`);
        resolve(code);
      });
    });
  }

  /** Starts the peer with `args` (see SpringPeer.java: `serve ...` or `call ...`). */
  static async start(args: readonly string[]): Promise<SpringPeer> {
    const classpath = await springPeerClasspath();
    // C1 only and the serial collector: the peer is short-lived, so start-up time is what counts.
    const jvm = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx256m', '-Xshare:auto'];
    const child = spawn('java', [...jvm, '-cp', classpath, 'SpringPeer', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new SpringPeer(child);
  }

  #onLine(line: string): void {
    let event: PeerEvent;
    try {
      event = JSON.parse(line) as PeerEvent;
    } catch {
      event = { type: 'output', line };
    }
    this.events.push(event);
    for (const waiter of this.#waiters) {
      if (!waiter.predicate(event)) continue;
      this.#waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(event);
    }
  }

  #fail(waiter: Waiter, why: string): void {
    this.#waiters.delete(waiter);
    clearTimeout(waiter.timer);
    const last = this.events.slice(-5).map((event) => JSON.stringify(event));
    waiter.reject(
      new Error(
        `${why} before the awaited event; last events: ${last.join(' ')}; stderr: ${this.#stderr.slice(-4_000)}`,
      ),
    );
  }

  /** Resolves with the first event (past or future) matching `predicate`; rejects at the deadline or when the peer exits. */
  waitFor(predicate: (event: PeerEvent) => boolean, timeoutMs = 60_000): Promise<PeerEvent> {
    const past = this.events.find(predicate);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => this.#fail(waiter, `no match within ${timeoutMs} ms`), timeoutMs),
      };
      this.#waiters.add(waiter);
      if (this.#exitCode !== undefined) this.#fail(waiter, 'the peer exited');
    });
  }

  /** Writes one JSON line to the peer's stdin. */
  send(command: Record<string, unknown>): void {
    this.#child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** Stops the peer: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
