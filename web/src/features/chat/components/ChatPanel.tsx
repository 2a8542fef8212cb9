import { ChatRoom, DeleteMessageRequest, SendMessageRequest } from 'amazon-ivs-chat-messaging';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { api, isApiError } from '../../../lib/api-client';
import { useMe } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { Modal } from '../../../components/Modal';

type Item = { id: string; userId: string; username: string; color: string; content: string; removed?: boolean };
type Props = { channel: string; isOwner: boolean; isBanned: boolean };

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
  const myId = me.data?.id;

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
        setItems((xs) => [...xs.filter((x) => x.id !== m.id), { id: m.id, userId: m.sender.userId, username: a.username ?? 'anonymous', color: a.color ?? 'blue', content: m.content }].slice(-200));
      });
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

  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView?.({ block: 'end' });
  }, [items]);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const content = draft.trim();
    if (!content || !room.current) return;
    setDraft('');
    try {
      await room.current.sendMessage(new SendMessageRequest(content));
    } catch {
      toast.error('Your message could not be sent');
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
    <section className="chat" aria-label="Chat">
      <header className="chat-head">
        <h2>Chat</h2>
        {isOwner && <span className="pill">Moderating</span>}
        {!connected && !banned && <span className="muted">connecting…</span>}
      </header>
      <ol className="chat-list" ref={list} data-testid="chat-list">
        {items.map((m) =>
          m.removed ? (
            <li key={m.id} className="chat-removed" data-testid="chatline-message-removed">
              Message removed
            </li>
          ) : (
            <li key={m.id} className="chat-line" data-testid="chatline">
              <button type="button" className="chat-line-button" disabled={!isOwner} onClick={() => setSelected(m)} aria-label={isOwner ? `Moderate ${m.username}'s message` : undefined}>
                <span className={`chat-user color-${m.color}`}>{m.username}</span> <span>{m.content}</span>
              </button>
            </li>
          ),
        )}
      </ol>
      <form className="chat-composer" onSubmit={send}>
        <input
          aria-label="Chat message"
          placeholder={placeholder}
          value={draft}
          maxLength={500}
          disabled={banned}
          onChange={(e) => setDraft(e.target.value)}
          onFocus={() => {
            if (!me.data) navigate('/login', { state: { from: location.pathname } });
          }}
        />
      </form>
      {selected && (
        <Modal title="Moderate message" onClose={() => setSelected(undefined)}>
          <p>
            <strong>{selected.username}</strong>: {selected.content}
          </p>
          <div className="modal-actions">
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
