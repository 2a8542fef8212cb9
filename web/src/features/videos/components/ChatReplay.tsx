import { useEffect, useRef } from 'react';
import { linesUpTo, useVideoChat } from '../api/videos';

// ChatReplay shows a recording's chat as it was said, up to the playhead (seconds): lines
// appear as the video plays and go back after a seek backwards. The newest line stays in
// view, as in the live chat.
export function ChatReplay({ id, time }: { id: string; time: number }) {
  const chat = useVideoChat(id);
  const list = useRef<HTMLOListElement>(null);
  const shown = linesUpTo(chat.data ?? [], time);
  const last = shown.length > 0 ? shown[shown.length - 1].id : '';
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [last]);
  return (
    <section className="chat chat-replay" aria-label="Chat replay" data-testid="chat-replay">
      <div className="chat-head"><h2>Chat replay</h2></div>
      {chat.isError && <p className="muted chat-note">The chat of this video could not be loaded.</p>}
      {chat.data && chat.data.length === 0 && <p className="muted chat-note">No chat in this broadcast.</p>}
      <ol ref={list} className="chat-list">
        {shown.map((m) => (
          <li key={m.id} data-testid="replay-line" data-offset={m.offsetMs}>
            <strong style={m.sender.attributes?.color ? { color: m.sender.attributes.color } : undefined}>{m.sender.attributes?.username ?? 'someone'}</strong>{' '}
            {m.content}
          </li>
        ))}
      </ol>
    </section>
  );
}
