import { useState } from 'react';
import { isApiError } from '../../../lib/api-client';
import { useToast } from '../../../lib/toast';
import { followerChoices, slowChoices, useChatSettings, useSaveChatSettings, type ChatSettings } from '../api/chat-settings';

const minutesLabel = (m: number) => (m === 0 ? 'any follower' : m < 60 ? `${m} minutes` : m < 1440 ? `${m / 60} hour${m === 60 ? '' : 's'}` : `${m / 1440} day${m === 1440 ? '' : 's'}`);

// ChatControls lets a channel's owner turn on followers-only chat and slow mode; the server
// enforces both (the owner is exempt).
export function ChatControls({ channel }: { channel: string }) {
  const current = useChatSettings(channel);
  const save = useSaveChatSettings(channel);
  const toast = useToast();
  const [edited, setDraft] = useState<ChatSettings>();
  const draft = edited ?? current.data; // what the owner chose last, until the server's
  if (!draft) return null;
  const apply = (next: ChatSettings) => {
    setDraft(next);
    save.mutate(next, {
      onSuccess: () => toast.success('Chat settings saved'),
      onError: (err) => {
        toast.error(isApiError(err) ? err.message : 'Unable to save the chat settings');
        setDraft(current.data);
      },
    });
  };
  return (
    <section className="card chat-controls" aria-label="Chat controls">
      <h2>Chat controls</h2>
      <label className="switch-row">
        <input type="checkbox" checked={draft.followersOnly} onChange={(e) => apply({ ...draft, followersOnly: e.target.checked, followersMinutes: 0 })} aria-label="Followers-only chat" />
        <span>Followers-only chat</span>
      </label>
      {draft.followersOnly && (
        <label className="field">
          <span>Followed for at least</span>
          <select className="input" value={draft.followersMinutes} onChange={(e) => apply({ ...draft, followersMinutes: Number(e.target.value) })} aria-label="Followed for at least">
            {followerChoices.map((m) => (
              <option key={m} value={m}>
                {minutesLabel(m)}
              </option>
            ))}
          </select>
        </label>
      )}
      <label className="field">
        <span>Slow mode</span>
        <select className="input" value={draft.slowSeconds} onChange={(e) => apply({ ...draft, slowSeconds: Number(e.target.value) })} aria-label="Slow mode">
          {slowChoices.map((s) => (
            <option key={s} value={s}>
              {s === 0 ? 'Off' : `One message every ${s} seconds`}
            </option>
          ))}
        </select>
      </label>
    </section>
  );
}
