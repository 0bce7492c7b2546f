# Chiffon's Ansible callback plugin: reports plays, tasks, per-host results and the final stats
# as JSON lines on a file descriptor the Chiffon agent passes to ansible-playbook.
#
# The agent embeds this file, writes it to a private directory for each run and puts that
# directory first on ANSIBLE_CALLBACK_PLUGINS, followed by the callback directories the
# repository's configuration names. The plugin needs no enabling (CALLBACK_NEEDS_ENABLED is
# False: ansible-playbook loads every such plugin it finds on the path), so the user's own
# callbacks_enabled is never overridden. Events go to the descriptor named by CHIFFON_EVENTS_FD
# rather than stdout so the normal output stays readable and a task printing something that
# looks like an event cannot forge one; without CHIFFON_EVENTS_FD the plugin does nothing.
#
# Every line is one JSON object with an "event" field:
#   {"event": "play_start", "play": ...}
#   {"event": "task_start", "play": ..., "task": ...}
#   {"event": "runner", "status": "ok|changed|failed|failed_ignored|skipped|unreachable",
#    "play": ..., "task": ..., "host": ..., "message": ..., "duration": <seconds>}
#   (with --diff the message ends with the differences, as Ansible prints them)
#   {"event": "stats", "hosts": {<host>: {"ok": n, "changed": n, "failures": n,
#    "unreachable": n, "skipped": n, "rescued": n, "ignored": n}}}

from __future__ import annotations

DOCUMENTATION = '''
    name: chiffon_events
    type: aggregate
    short_description: Reports playbook events to the Chiffon agent
    description:
      - Writes one JSON object per line to the file descriptor named by CHIFFON_EVENTS_FD.
      - Used by the Chiffon infrastructure agent; not meant to be enabled by hand.
    requirements:
      - CHIFFON_EVENTS_FD set to a descriptor open for writing
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase

# Matches the agent's own limit; a module can return megabytes of output and one event must stay
# small enough to travel on the message bus.
MAX_MESSAGE_CHARS = 4000
HIDDEN = 'output hidden by no_log'


def _text(value):
    if value is None:
        return ''
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return '\n'.join(_text(v) for v in value)
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def _truncate(text):
    text = text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return text[:MAX_MESSAGE_CHARS] + ' ... (truncated)'
    return text


def _is_hidden(data, task):
    # Ansible censors no_log results before callbacks see them, but the flag is checked too in
    # case a module leaked output into a field Ansible kept.
    if not isinstance(data, dict):
        return False
    if data.get('_ansible_no_log') or 'censored' in data:
        return True
    return getattr(task, 'no_log', False) is True


def _last_line(text):
    lines = [line for line in _text(text).splitlines() if line.strip()]
    return lines[-1] if lines else ''


def _message(data, task):
    if not isinstance(data, dict):
        return ''
    if _is_hidden(data, task):
        return HIDDEN
    msg = _text(data.get('msg'))
    stderr = _text(data.get('stderr')).strip()
    if msg and stderr and data.get('rc'):
        # For a failed command "non-zero return code" says little; stderr says why.
        return _truncate(msg + ': ' + stderr)
    if msg:
        return _truncate(msg)
    if stderr:
        return _truncate(stderr)
    if data.get('skip_reason'):
        return _truncate(_text(data.get('skip_reason')))
    results = data.get('results')
    if isinstance(results, list) and results:
        for item in results:
            if isinstance(item, dict) and item.get('failed'):
                return _truncate('item failed: ' + (_message(item, task) or 'no message'))
        return '%d items' % len(results)
    if data.get('stdout'):
        return _truncate(_last_line(data.get('stdout')))
    return ''


def _parts(result):
    # ansible-core 2.19 made host/task/result public; older versions only have the underscored
    # attributes, which 2.19 still provides (deprecated).
    host = getattr(result, 'host', None) or getattr(result, '_host', None)
    task = getattr(result, 'task', None) or getattr(result, '_task', None)
    data = getattr(result, 'result', None)
    if not isinstance(data, dict):
        data = getattr(result, '_result', None) or {}
    return host, task, data


def _name(obj):
    if obj is None:
        return ''
    try:
        return str(obj.get_name()).strip()
    except Exception:  # a plugin must never break the run
        return str(obj)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'chiffon_events'
    # Loaded whenever it is on the callback path, so that enabling it never means overriding the
    # user's callbacks_enabled.
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._out = None
        self._play = ''
        self._task_started = {}
        self._host_started = {}
        fd = os.environ.get('CHIFFON_EVENTS_FD')
        if fd:
            try:
                self._out = os.fdopen(int(fd), 'w', buffering=1, encoding='utf-8')
            except (OSError, ValueError) as error:
                self._display.warning('chiffon_events: cannot open CHIFFON_EVENTS_FD=%s: %s' % (fd, error))

    def _emit(self, event):
        if self._out is None:
            return
        try:
            self._out.write(json.dumps(event, ensure_ascii=True, separators=(',', ':')) + '\n')
        except (OSError, ValueError):
            # The agent went away; keep the playbook running rather than failing it.
            self._out = None

    def _duration(self, host, task):
        now = time.monotonic()
        uuid = getattr(task, '_uuid', None)
        started = self._host_started.pop((host, uuid), None) or self._task_started.get(uuid)
        return round(now - started, 3) if started is not None else None

    def _diff(self, data, task):
        # With --diff, what a task changed (or would change), as Ansible prints it; the
        # differences of a loop's items are in its results.
        if not isinstance(data, dict) or _is_hidden(data, task):
            return ''
        diffs = []
        if data.get('diff'):
            diffs.append(data['diff'])
        results = data.get('results')
        if isinstance(results, list):
            diffs.extend(item['diff'] for item in results
                         if isinstance(item, dict) and item.get('diff') and not _is_hidden(item, task))
        texts = []
        for diff in diffs:
            try:
                texts.append(self._get_diff(diff))
            except Exception:  # a plugin must never break the run
                pass
        return '\n'.join(text.strip('\n') for text in texts if text and text.strip())

    def _runner(self, status, result):
        host, task, data = _parts(result)
        host_name = _name(host)
        message = _message(data, task)
        diff = self._diff(data, task)
        if diff:
            message = _truncate(message + '\n' + diff if message else diff)
        event = {
            'event': 'runner',
            'status': status,
            'play': self._play,
            'task': _name(task),
            'host': host_name,
            'message': message,
        }
        duration = self._duration(host_name, task)
        if duration is not None:
            event['duration'] = duration
        self._emit(event)

    def v2_playbook_on_play_start(self, play):
        self._play = _name(play)
        self._emit({'event': 'play_start', 'play': self._play})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_started[getattr(task, '_uuid', None)] = time.monotonic()
        self._emit({'event': 'task_start', 'play': self._play, 'task': _name(task)})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_start(self, host, task):
        self._host_started[(_name(host), getattr(task, '_uuid', None))] = time.monotonic()

    def v2_runner_on_ok(self, result):
        _, _, data = _parts(result)
        changed = isinstance(data, dict) and bool(data.get('changed'))
        self._runner('changed' if changed else 'ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._runner('failed_ignored' if ignore_errors else 'failed', result)

    def v2_runner_on_skipped(self, result):
        self._runner('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._runner('unreachable', result)

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for host in sorted(stats.processed.keys()):
            summary = stats.summarize(host)
            hosts[str(host)] = dict((key, int(summary.get(key, 0))) for key in (
                'ok', 'changed', 'failures', 'unreachable', 'skipped', 'rescued', 'ignored'))
        self._emit({'event': 'stats', 'hosts': hosts})
        if self._out is not None:
            try:
                self._out.flush()
            except (OSError, ValueError):
                pass
