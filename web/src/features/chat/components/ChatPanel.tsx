import { ChatRoom, DeleteMessageRequest, SendMessageRequest } from 'amazon-ivs-chat-messaging';
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { api, isApiError } from '../../../lib/api-client';
import { emitRoomEvent } from '../../../lib/room-events';
import { useMe } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { Modal } from '../../../components/Modal';

type Item = { id: string; userId: string; username: string; color: string; content: string; sentAt: Date; removed?: boolean };
type Props = { channel: string; isOwner: boolean; isBanned: boolean };

// The reference's limits and wording.
export const maxMessageLength = 500; // code points, as the server counts them
export const tooLongMessage = 'Max message length reached.';
export const rateMessage = 'Rate exceeded.';
export const moderatingPillMs = 5000; // how long the owner sees the "Moderating" pill

// chatErrorText turns a send failure from the chat client into what the viewer reads.
export function chatErrorText(err: unknown): string {
  const e = err as { errorCode?: number; errorMessage?: string } | undefined;
  // The room's controls say what to do: follow, or wait so many seconds.
  if (/followers-only|slow mode/i.test(e?.errorMessage ?? '')) return e?.errorMessage ?? '';
  if (e?.errorCode === 429 || /rate|too many/i.test(e?.errorMessage ?? '')) return rateMessage;
  if (/length|too long/i.test(e?.errorMessage ?? '')) return tooLongMessage;
  return 'Your message could not be sent';
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

// nearBottom is how close, in pixels, to the end of the list counts as reading the newest line.
const nearBottom = 24;

const socketURL = () => `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/api/chat`;

// ChatPanel is a channel's chat, over the Amazon IVS Chat client library: everyone reads,
// signed-in users send, the owner deletes messages and bans users.
export function ChatPanel({ channel, isOwner, isBanned }: Props) {
  const me = useMe();
  const toast = useToast();
  const navigate = useNavigate();
  const location = useLocation();
  const [items, setItems] = useState<Item[]>([]);
  const [connected, setConnected] = useState(false);
  const [kicked, setKicked] = useState(false); // banned while this page was open
  const banned = isBanned || kicked;
  const [draft, setDraft] = useState('');
  const [selected, setSelected] = useState<Item>();
  const [confirmBan, setConfirmBan] = useState<Item>();
  const room = useRef<ChatRoom | null>(null);
  const list = useRef<HTMLOListElement>(null);
  const atBottom = useRef(true); // the viewer reads the newest line: new lines keep it in view
  const [unseen, setUnseen] = useState(false);
  const [error, setError] = useState<string>();
  const [pill, setPill] = useState(isOwner);
  const myId = me.data?.id;
  const tooLong = [...draft].length > maxMessageLength;

  useEffect(() => {
    if (banned) return;
    let closed = false;
    let retry: number | undefined;
    const connect = () => {
      const r = new ChatRoom({
        regionOrUrl: socketURL(),
        tokenProvider: async () => {
          const t = await api<{ token: string; sessionExpirationTime: string; tokenExpirationTime: string }>('POST', '/api/chat/token', { channel });
          return { token: t.token, sessionExpirationTime: new Date(t.sessionExpirationTime), tokenExpirationTime: new Date(t.tokenExpirationTime) };
        },
      });
      r.logLevel = 'error';
      r.addListener('connect', () => setConnected(true));
      r.addListener('message', (m) => {
        const a = m.sender.attributes ?? {};
        setItems((xs) =>
          [...xs.filter((x) => x.id !== m.id), { id: m.id, userId: m.sender.userId, username: a.username ?? 'anonymous', color: a.color ?? 'blue', content: m.content, sentAt: m.sendTime }].slice(-200),
        );
      });
      r.addListener('event', (e) => emitRoomEvent(channel, { name: e.eventName, attributes: e.attributes ?? {} }));
      r.addListener('messageDelete', (e) => setItems((xs) => xs.map((x) => (x.id === e.messageId ? { ...x, removed: true } : x))));
      r.addListener('userDisconnect', (e) => {
        if (e.userId === myId) {
          setKicked(true);
          toast.error('You have been banned');
        } else {
          setItems((xs) => xs.filter((x) => x.userId !== e.userId));
        }
      });
      r.addListener('disconnect', () => {
        setConnected(false);
        if (!closed) retry = window.setTimeout(connect, 2000); // reconnect with a fresh token
      });
      room.current = r;
      r.connect();
    };
    connect();
    return () => {
      closed = true;
      window.clearTimeout(retry);
      room.current?.disconnect();
      room.current = null;
    };
  }, [channel, myId, banned, toast]);

  // The owner's "Moderating" pill shows for 5 s, as the reference's does.
  useEffect(() => {
    if (!isOwner) return;
    const t = window.setTimeout(() => setPill(false), moderatingPillMs);
    return () => window.clearTimeout(t);
  }, [isOwner]);

  // New lines keep the list at its end only when the viewer is there; otherwise a "New
  // messages" button offers the jump. Only the list scrolls, never the page.
  const toBottom = useCallback(() => {
    const l = list.current;
    if (l) l.scrollTop = l.scrollHeight;
    atBottom.current = true;
    setUnseen(false);
  }, []);
  useLayoutEffect(() => {
    if (items.length === 0) return;
    if (atBottom.current) toBottom();
    else setUnseen(true);
  }, [items, toBottom]);
  const onScroll = () => {
    const l = list.current;
    if (!l) return;
    atBottom.current = l.scrollHeight - l.scrollTop - l.clientHeight <= nearBottom;
    if (atBottom.current) setUnseen(false);
  };

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const content = draft.trim();
    if (!content || tooLong || banned) return;
    if (!me.data) {
      navigate('/login', { state: { from: location.pathname } });
      return;
    }
    if (!room.current || !connected) {
      setError('Please wait until chat has connected.');
      return;
    }
    setDraft('');
    setError(undefined);
    toBottom();
    try {
      await room.current.sendMessage(new SendMessageRequest(content));
    } catch (err) {
      setError(chatErrorText(err));
    }
  };
  const remove = async (item: Item) => {
    setSelected(undefined);
    try {
      await room.current?.deleteMessage(new DeleteMessageRequest(item.id, 'removed by the channel owner'));
      toast.success('Message removed');
    } catch {
      toast.error('Could not remove the message');
    }
  };
  const ban = async (item: Item) => {
    setConfirmBan(undefined);
    try {
      await api('PUT', `/api/channels/${encodeURIComponent(channel)}/bans/${encodeURIComponent(item.username)}`);
      toast.success('User banned from channel');
    } catch (err) {
      toast.error(isApiError(err) ? err.message : 'Could not ban the user');
    }
  };

  const placeholder = banned ? 'You are banned from this channel' : me.data ? 'Say something' : 'Log in to chat';
  return (
    <section className="chat" aria-label="Chat" aria-busy={!connected && !banned}>
      <header className="chat-head">
        <h2>Chat</h2>
        {isOwner && pill && <span className="pill">Moderating</span>}
        {!connected && !banned && <span className="muted">connecting…</span>}
      </header>
      <ol className="chat-list" ref={list} data-testid="chat-list" onScroll={onScroll} tabIndex={0} aria-label="Chat history">
        {items.map((m) =>
          m.removed ? (
            <li key={m.id} className="chat-removed" data-testid="chatline-message-removed">
              Message removed
            </li>
          ) : (
            <li key={m.id} className="chat-line" data-testid="chatline">
              <button type="button" className="chat-line-button" disabled={!isOwner} onClick={() => setSelected(m)} aria-label={isOwner ? `Moderate ${m.username}'s message` : undefined}>
                <time className="chat-time" dateTime={m.sentAt.toISOString()}>
                  {timeFormat.format(m.sentAt)}
                </time>{' '}
                <span className={`chat-user color-${m.color}`}>{m.username}</span> <span>{m.content}</span>
              </button>
            </li>
          ),
        )}
      </ol>
      {unseen && (
        <button type="button" className="chat-jump" onClick={toBottom}>
          New messages ↓
        </button>
      )}
      <form className="chat-composer" onSubmit={send}>
        <div className="chat-composer-row">
          <input
            aria-label="Chat message"
            aria-invalid={tooLong || undefined}
            aria-describedby={tooLong || error ? 'chat-composer-error' : undefined}
            placeholder={placeholder}
            value={draft}
            disabled={banned}
            onChange={(e) => {
              setDraft(e.target.value);
              setError(undefined);
            }}
            onFocus={() => {
              if (!me.data) navigate('/login', { state: { from: location.pathname } });
            }}
          />
          <button type="submit" className="btn btn-primary" disabled={banned || tooLong || !draft.trim()}>
            Send
          </button>
        </div>
        {(tooLong || error) && (
          <p className="error-text" id="chat-composer-error" role="alert">
            {tooLong ? tooLongMessage : error}
          </p>
        )}
      </form>
      {selected && (
        <Modal title="Moderate message" onClose={() => setSelected(undefined)}>
          <p>
            <strong>{selected.username}</strong>: {selected.content}
          </p>
          <div className="modal-actions">
            <button type="button" className="btn btn-secondary" onClick={() => setSelected(undefined)}>
              Cancel
            </button>
            <button type="button" className="btn btn-secondary" onClick={() => remove(selected)}>
              Delete message
            </button>
            {selected.userId !== myId && (
              <button
                type="button"
                className="btn btn-danger"
                onClick={() => {
                  setConfirmBan(selected);
                  setSelected(undefined);
                }}
              >
                Ban user
              </button>
            )}
          </div>
        </Modal>
      )}
      {confirmBan && (
        <Modal title="Ban user" onClose={() => setConfirmBan(undefined)}>
          <p>Are you sure you want to ban {confirmBan.username} from your channel? They will be disconnected from chat and playback.</p>
          <div className="modal-actions">
            <button type="button" className="btn btn-secondary" onClick={() => setConfirmBan(undefined)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" onClick={() => ban(confirmBan)}>
              Ban user
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
