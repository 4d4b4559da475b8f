#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that the sample outputs of README.md and docs/*.md are what the
programs print today (test-readme in tests/meson.build runs it).

Usage: check-readme.py BUILDDIR FILE...

* The demo transcript: a code block that starts with
  `$ sh examples/run-demo.sh build` is compared with a real run of
  examples/run-demo.sh on a private bus: every line, as a multiset (the
  processes run concurrently, so lines of different processes, and a
  broadcast among a renderer's other lines, interleave differently from
  run to run).
* busctl sessions: in code blocks, every `$ COMMAND` line except
  dbus-monitor's is run in order, in one shell session per file, with the
  lines after it up to the next `$ ` as its expected output. A main
  process started without `&` is the "first terminal": it runs in the
  background. Commands run in a temporary directory where `build` is
  BUILDDIR, `examples` the source tree's and `/tmp/` that directory, with
  a private session bus and /usr/bin first in PATH.

* Excerpts: a code block right after the line
  `<!-- excerpt: FILE -->` (FILE relative to the source root, checked
  itself) is not run: each of its lines must be a line of FILE's code
  blocks.

* Examples: a code block that starts by naming an example file
  (`/* hello.c: ...`) is that file of examples/, verbatim.

Unique names, pids, times, bus addresses and column widths are
normalized before comparing. Exits 0 when everything matched, 1 with a
diff otherwise.
"""
import os, re, shutil, signal, subprocess, sys, tempfile, time  # noqa: E401

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def normalize(line):
    line = re.sub(r':1\.\d+', ':1.N', line)
    line = re.sub(r'\bpid \d+', 'pid N', line)
    line = re.sub(r'(":1\.N") \d+', r'\1 PID', line)
    # eipc list / info: the pid column after the unique name, "PID: N".
    line = re.sub(r'(^|\s)(:1\.N)\s+\d+(?=\s)', r'\1\2 PID', line)
    line = re.sub(r'^PID:\s+\d+$', 'PID: PID', line)
    line = re.sub(r'(\.ProcessId\s+property\s+u\s+)\d+', r'\1PID', line)
    line = re.sub(r'unix:path=[^ ]*', 'ADDRESS', line)
    line = re.sub(r'time=[0-9.]+', 'time=T', line)
    return ' '.join(line.split())


def code_blocks(path):
    """(first line number, lines) of every ``` block."""
    blocks, current, start = [], None, 0
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if line.startswith('```'):
                if current is None:
                    current, start = [], number + 1
                else:
                    blocks.append((start, current))
                    current = None
            elif current is not None:
                current.append(line)
    return blocks


def excerpts(path):
    """{first line number of a block: the file it is an excerpt of}"""
    found, previous, inside = {}, '', False
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if line.startswith('```'):
                if not inside:
                    m = re.match(r'^<!-- excerpt: (\S+) -->$', previous)
                    if m:
                        found[number + 1] = m.group(1)
                inside = not inside
            if line.strip():
                previous = line
    return found


def check_excerpts(path, blocks, found):
    ok = True
    for start, lines in blocks:
        if start not in found:
            continue
        source = os.path.join(SRC, found[start])
        if not os.path.exists(source):
            print(f'{path}:{start}: an excerpt of {found[start]}, which does not exist')
            ok = False
            continue
        known = set(l for _, ls in code_blocks(source) for l in ls)
        missing = [l for l in lines if l not in known]
        if missing:
            ok = False
            print(f'{path}:{start}: not in {found[start]}:\n    ' + '\n    '.join(missing))
        else:
            print(f'{path}:{start}: is an excerpt of {found[start]} ({len(lines)} lines)')
    return ok


def private_env(tmp):
    env = dict(os.environ)
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    env['XDG_RUNTIME_DIR'] = tmp       # no session bus socket there
    return env


def check_demo(build, path, start, lines):
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(['sh', os.path.join(SRC, 'examples', 'run-demo.sh'), build],
                             cwd=SRC, env=private_env(tmp), capture_output=True,
                             text=True, timeout=120)
    got = sorted(normalize(l) for l in run.stdout.splitlines())
    want = sorted(normalize(l) for l in lines[1:])
    if run.returncode != 0 or got != want:
        print(f'{path}:{start}: the demo transcript differs from a run '
              f'(exit status {run.returncode}):')
        for l in sorted(set(want) - set(got)):
            print(f'  only in {os.path.basename(path)}: {l}')
        for l in sorted(set(got) - set(want)):
            print(f'  only in the run: {l}')
        if run.stderr:
            print(run.stderr)
        return False
    print(f'{path}:{start}: the demo transcript matches ({len(want)} lines)')
    return True


def commands(blocks):
    """(line number, command, expected output lines) in file order."""
    for start, lines in blocks:
        for i, line in enumerate(lines):
            if not line.startswith('$ '):
                continue
            out = []
            for following in lines[i + 1:]:
                if following.startswith('$ '):
                    break
                out.append(following)
            yield start + i, line[2:], out


def kill_left_in(tmp):
    """Whatever the session started and left running (the dbus-daemon of a
    session that failed half-way) carries EIPC_CHECK_README=tmp in its
    environment."""
    marker = f'EIPC_CHECK_README={tmp}'.encode()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/environ', 'rb') as f:
                if marker in f.read().split(b'\0'):
                    os.kill(int(pid), signal.SIGTERM)
        except OSError:
            pass


def check_session(build, path, blocks):
    ok, count = True, 0
    tmp = tempfile.mkdtemp()
    os.symlink(build, os.path.join(tmp, 'build'))
    os.symlink(os.path.join(SRC, 'examples'), os.path.join(tmp, 'examples'))
    env = private_env(tmp)
    env['EIPC_CHECK_README'] = tmp
    # Debian's python3 (with gi) before a pyenv or venv one.
    env['PATH'] = '/usr/bin:' + env.get('PATH', '')
    # Programs that use the session bus get a private one.
    bus = subprocess.run(['dbus-daemon', '--session', '--fork', '--print-address=1',
                          '--print-pid=1'], capture_output=True, text=True, check=True)
    env['DBUS_SESSION_BUS_ADDRESS'], bus_pid = bus.stdout.split('\n')[:2]
    background = []
    try:
        for number, command, want in commands(blocks):
            if command.startswith('dbus-monitor') or 'run-demo.sh' in command:
                continue
            command = command.replace('/tmp/', tmp + '/')
            if command.startswith('ADDR='):
                env['ADDR'] = subprocess.run(['sh', '-c', command + '; echo "$ADDR"'],
                                             cwd=tmp, env=env, capture_output=True,
                                             text=True).stdout.strip()
                continue
            if command.endswith('&') or 'eipc-demo-main' in command:
                log = open(os.path.join(tmp, f'background-{number}.log'), 'w')
                background.append(subprocess.Popen(['sh', '-c', command.rstrip('&')],
                                                   cwd=tmp, env=env, stdout=log,
                                                   stderr=subprocess.STDOUT,
                                                   start_new_session=True))
                time.sleep(0.5)
                continue
            want_n = [normalize(l) for l in want]
            # A renderer started with & may still be attaching: commands that
            # only read are tried again for a while.
            # So is the renderer of the examples, while their main process starts.
            # So is `cat` of a log a background command writes: the last
            # message may still be on its way to it when the command before
            # the `cat` exits.
            tries = 20 if re.search(r'busctl .*\b(get-property|tree|introspect)\b|hello|^cat ',
                                    command) else 1
            for attempt in range(tries):
                run = subprocess.run(['sh', '-c', command + ' 2>&1'], cwd=tmp, env=env,
                                     capture_output=True, text=True, timeout=60)
                got_n = [normalize(l) for l in run.stdout.splitlines()]
                if got_n == want_n:
                    break
                time.sleep(0.25)
            count += 1
            if got_n != want_n:
                ok = False
                print(f'{path}:{number}: $ {command}')
                print('  the file says:\n    ' + '\n    '.join(want))
                print('  it printed:\n    ' + '\n    '.join(run.stdout.splitlines()))
    finally:
        for p in background:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            p.wait()
        os.kill(int(bus_pid), signal.SIGTERM)
        kill_left_in(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    if count:
        print(f'{path}: {count} commands, {"all matched" if ok else "some differ"}')
    return ok


def check_examples(path, blocks):
    """A code block whose first lines name an example file ("/* hello.c: ...",
    "# hello.py: ...", "// hello.js: ...") must be that file, verbatim."""
    ok = True
    for start, lines in blocks:
        for line in lines[:2]:
            m = re.match(r'^(?:/\*|#|//) (\S+\.(?:c|py|js)): ', line)
            if not m:
                continue
            name = m.group(1)
            for folder in ('examples', 'examples/python', 'examples/gjs'):
                example = os.path.join(SRC, folder, name)
                if os.path.exists(example):
                    break
            else:
                print(f'{path}:{start}: names {name}, which is not in examples/')
                ok = False
                break
            with open(example, encoding='utf-8') as f:
                if f.read().splitlines() != lines:
                    print(f'{path}:{start}: differs from {os.path.relpath(example, SRC)}')
                    ok = False
                else:
                    print(f'{path}:{start}: is {os.path.relpath(example, SRC)}')
            break
    return ok


def main():
    build = os.path.abspath(sys.argv[1])
    ok = True
    for path in sys.argv[2:]:
        blocks = code_blocks(path)
        found = excerpts(path)
        ok = check_excerpts(path, blocks, found) and ok
        blocks = [(start, lines) for start, lines in blocks if start not in found]
        for start, lines in blocks:
            if lines and lines[0] == '$ sh examples/run-demo.sh build':
                ok = check_demo(build, path, start, lines) and ok
        ok = check_examples(path, blocks) and ok
        ok = check_session(build, path, blocks) and ok
    sys.exit(0 if ok else 1)


main()
