#!/usr/bin/env python3
"""An agent request of about SIZE bytes cut from a longer one: the system prompt, the tool definitions (as many as
fit in half the size) and the first turns, so it has the shape of the longer one at an earlier point of the session.

usage: agent_body.py SIZE SOURCE.json OUT.json [OUT_STREAM.json]"""
import json
import sys

size, src, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = json.load(open(src))
body.pop("stream", None)
messages, tools = body["messages"], body.get("tools", [])
cut = dict(body, messages=messages[:1], tools=[])
for t in tools:
    if len(json.dumps(dict(cut, tools=cut["tools"] + [t]))) > size // 2:
        break
    cut["tools"].append(t)
if not cut["tools"]:
    cut.pop("tools")
for m in messages[1:]:
    if len(json.dumps(dict(cut, messages=cut["messages"] + [m]))) > size:
        break
    cut["messages"].append(m)
json.dump(cut, open(out, "w"))
if len(sys.argv) > 4:
    json.dump(dict(cut, stream=True), open(sys.argv[4], "w"))
