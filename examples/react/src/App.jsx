import { useCallback, useRef, useState } from 'react';
import { describe } from './describe.js';

// ?path=…&uid=…&call=… skips the form: the end-to-end test opens the app that way.
const query = new URLSearchParams(location.search);
const path = query.get('path') || 'examples/react';

export function App() {
  const [user, setUser] = useState(() => (query.get('uid') ? { uid: query.get('uid'), call: query.get('call') ?? '' } : null));
  return user ? <Call path={path} uid={user.uid} call={user.call} /> : <JoinForm onJoin={setUser} />;
}

function JoinForm({ onJoin }) {
  const join = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    onJoin({ uid: String(form.get('uid')), call: String(form.get('call')) });
  };
  return (
    <form onSubmit={join}>
      <label>
        Your name <input name="uid" required pattern="[A-Za-z0-9_\-]{1,64}" />
      </label>
      <label>
        Call (empty: wait to be called) <input name="call" pattern="[A-Za-z0-9_\-]{0,64}" />
      </label>
      <button>Join</button>
    </form>
  );
}

/**
 * React 19 passes props to custom elements as properties when the element has one (`path`, `uid`, `participantId`,
 * `autoAccept`), as attributes otherwise (`broker-url`), and turns an `on…` prop
 * whose value is a function into addEventListener of the rest of its name: `onwd-ready` listens
 * to `wd-ready`.
 */
function Call({ path, uid, call }) {
  const [events, setEvents] = useState([]);
  const conversation = useRef(null);
  // One stable handler, so React does not re-add the listeners on every render.
  const log = useCallback((event) => setEvents((list) => [...list, { type: event.type, text: describe(event) }]), []);

  return (
    <main>
      <h1>
        {uid}
        {call ? ` calls ${call}` : ', waiting for a call'}
      </h1>
      <wd-video-client broker-url="/mqtt" path={path} uid={uid} onwd-ready={log} onwd-invite={log} onwd-error={log}>
        <wd-local-stream resolution="standard" onwd-stream-ready={log}></wd-local-stream>
        <wd-conversation
          ref={conversation}
          participantId={call}
          autoAccept={!call}
          onwd-invite-accepted={log}
          onwd-invite-failed={log}
          onwd-invite-rejected={log}
          onwd-participant-connected={log}
          onwd-participant-disconnected={log}
          onwd-conversation-ended={log}
        ></wd-conversation>
      </wd-video-client>
      <button type="button" onClick={() => conversation.current?.hangUp()}>
        Hang up
      </button>
      <h2>Events</h2>
      <ol id="events">
        {events.map((entry, i) => (
          <li key={i} data-event={entry.type}>
            <code>{entry.type}</code> {entry.text}
          </li>
        ))}
      </ol>
    </main>
  );
}
