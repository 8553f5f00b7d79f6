#!/usr/bin/env python3
"""Top frames of a JFR file: self and inclusive shares of jdk.ExecutionSample.
usage: jfrtop.py FILE.jfr [N] [--thread SUBSTR]"""
import subprocess, sys, re, collections
f = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 30
thr = None
if '--thread' in sys.argv: thr = sys.argv[sys.argv.index('--thread') + 1]
out = subprocess.run(['jfr', 'print', '--events', 'jdk.ExecutionSample', '--stack-depth', '96', f],
                     capture_output=True, text=True).stdout
selfc = collections.Counter(); incl = collections.Counter(); pkgincl = collections.Counter()
total = 0
for ev in out.split('jdk.ExecutionSample')[1:]:
    m = re.search(r'sampledThread = "([^"]*)"', ev)
    if thr and (not m or thr not in m.group(1)): continue
    frames = re.findall(r'^\s+([\w$.<>]+(?:\.[\w$<>]+)*)\(', ev, re.M)
    frames = [fr for fr in frames if fr not in ('stackTrace',)]
    if not frames: continue
    total += 1
    selfc[frames[0]] += 1
    for fr in set(frames): incl[fr] += 1
if not total: print('no samples'); sys.exit()
print(f'{total} samples' + (f' (thread ~ {thr})' if thr else ''))
print('\n## self'); [print(f'{c*100/total:5.1f}%  {k}') for k, c in selfc.most_common(n)]
print('\n## inclusive (dev.sluice + selected)')
for k, c in incl.most_common(400):
    if k.startswith('dev.sluice') or 'jackson' in k or 'MessageDigest' in k or 'String.<init>' in k or 'getBytes' in k:
        print(f'{c*100/total:5.1f}%  {k}')
