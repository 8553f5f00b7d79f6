#!/usr/bin/env python3
"""Writes a chat completions request body as the same request in Anthropic Messages' shape (for overhead.sh API=messages
with an agent-sized BODY_FILE): system messages become the top-level system, assistant tool calls tool_use blocks, tool
messages tool_result blocks in a user message, tools {name, description, input_schema}; consecutive messages of one
role are merged, as Messages requires alternating roles.

usage: to_messages.py CHAT_JSON > MESSAGES_JSON
"""
import json
import sys


def main(path):
    chat = json.load(open(path))
    out = {k: v for k, v in chat.items() if k not in ("messages", "tools", "tool_choice", "stream_options")}
    system, messages = [], []

    def add(role, blocks):
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    last_call = 0
    for m in chat["messages"]:
        text = m.get("content") or ""
        if m["role"] == "system":
            system.append(text)
        elif m["role"] == "tool":
            add("user", [{"type": "tool_result", "tool_use_id": m.get("tool_call_id", "call_%d" % last_call),
                          "content": text}])
        elif m["role"] == "assistant":
            blocks = [{"type": "text", "text": text}] if text else []
            calls = m.get("tool_calls") or []
            for c in calls:
                blocks.append({"type": "tool_use", "id": c["id"], "name": c["function"]["name"],
                               "input": json.loads(c["function"]["arguments"] or "{}")})
            add("assistant", blocks)
        else:
            add("user", [{"type": "text", "text": text}])
    if system:
        out["system"] = "\n".join(system)
    out["messages"] = messages
    if chat.get("tools"):
        out["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                         "input_schema": t["function"].get("parameters", {"type": "object"})} for t in chat["tools"]]
    json.dump(out, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1])
