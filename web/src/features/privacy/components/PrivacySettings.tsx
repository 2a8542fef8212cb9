import { useState, type FormEvent } from 'react';
import { isApiError } from '../../../lib/api-client';
import { useToast } from '../../../lib/toast';
import { useAllow, useAllowlist, useCreateInvite, useInvites, usePrivacy, useRevokeInvite, useSetPrivacy, type Invite } from '../api/privacy';

const expiries = [
  { hours: 1, label: '1 hour' },
  { hours: 24, label: '1 day' },
  { hours: 168, label: '7 days' },
  { hours: 720, label: '30 days' },
];

// PrivacySettings is the owner's private-channel switch, allowlist and invite links, in
// Settings. The allowlist and the links matter only while the channel is private, but can be
// prepared before.
export function PrivacySettings({ me }: { me: string }) {
  const toast = useToast();
  const privacy = usePrivacy(me);
  const setPrivacy = useSetPrivacy(me);
  return (
    <section className="card settings-section" aria-labelledby="privacy-heading">
      <h2 id="privacy-heading">Private channel</h2>
      <label className="checkbox">
        <input
          type="checkbox"
          data-testid="channel-private"
          checked={privacy.data?.private ?? false}
          disabled={!privacy.data || setPrivacy.isPending}
          onChange={(e) =>
            setPrivacy.mutate(e.target.checked, {
              onSuccess: (v) => toast.success(v.private ? 'Your channel is private' : 'Your channel is public'),
              onError: () => toast.error('Could not save'),
            })
          }
        />{' '}
        Only people I allow may watch my channel and join its chat
      </label>
      <p className="hint">A private channel is not listed in the directory. Viewers you take off the list stop playing within two minutes.</p>
      <Allowlist me={me} />
      <Invites me={me} />
    </section>
  );
}

function Allowlist({ me }: { me: string }) {
  const toast = useToast();
  const list = useAllowlist(me);
  const allow = useAllow(me);
  const [name, setName] = useState('');
  const add = (e: FormEvent) => {
    e.preventDefault();
    const user = name.trim();
    if (!user) return;
    allow.mutate(
      { user, allow: true },
      {
        onSuccess: () => {
          setName('');
          toast.success(`${user} may watch your channel`);
        },
        onError: (err) => toast.error(isApiError(err) ? err.message : 'Could not add the user'),
      },
    );
  };
  return (
    <div className="privacy-block">
      <h3>Allowed viewers</h3>
      <form className="settings-row" onSubmit={add}>
        <div className="field">
          <label htmlFor="allow-username">Username to allow</label>
          <input id="allow-username" value={name} onChange={(e) => setName(e.target.value)} maxLength={20} autoComplete="off" />
        </div>
        <button type="submit" className="btn btn-secondary" disabled={allow.isPending || !name.trim()}>
          Allow
        </button>
      </form>
      <ul className="privacy-list" data-testid="allowlist">
        {list.data?.users.map((u) => (
          <li key={u.username}>
            <span>{u.username}</span>
            <button
              type="button"
              className="btn btn-secondary"
              aria-label={`Remove ${u.username}`}
              onClick={() => allow.mutate({ user: u.username, allow: false }, { onError: () => toast.error('Could not remove the user') })}
            >
              Remove
            </button>
          </li>
        ))}
        {list.data?.users.length === 0 && <li className="muted">Nobody yet.</li>}
      </ul>
    </div>
  );
}

function Invites({ me }: { me: string }) {
  const toast = useToast();
  const invites = useInvites(me);
  const create = useCreateInvite(me);
  const revoke = useRevokeInvite(me);
  const [hours, setHours] = useState(168);
  const [made, setMade] = useState<Invite | null>(null);
  const copy = async (url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      toast.success('Invite link copied');
    } catch {
      toast.error(`Copy failed: ${url}`);
    }
  };
  return (
    <div className="privacy-block">
      <h3>Invite links</h3>
      <p className="hint">Whoever opens an invite link while signed in joins the allowed viewers. A link is shown once, when you make it.</p>
      <div className="settings-row">
        <div className="field">
          <label htmlFor="invite-expiry">Expires after</label>
          <select id="invite-expiry" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {expiries.map((x) => (
              <option key={x.hours} value={x.hours}>
                {x.label}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          className="btn btn-secondary"
          disabled={create.isPending}
          onClick={() => create.mutate(hours, { onSuccess: setMade, onError: (err) => toast.error(isApiError(err) ? err.message : 'Could not make a link') })}
        >
          Create invite link
        </button>
      </div>
      {made?.url && (
        <div className="copy-row">
          <label htmlFor="invite-url">New invite link</label>
          <div className="copy-row-input">
            <input id="invite-url" data-testid="invite-url" readOnly value={made.url} onFocus={(e) => e.target.select()} />
            <button type="button" className="btn btn-secondary" onClick={() => copy(made.url ?? '')}>
              Copy
            </button>
          </div>
        </div>
      )}
      <ul className="privacy-list" data-testid="invites">
        {invites.data?.invites.map((inv) => (
          <li key={inv.id}>
            <span>
              Expires {new Date(inv.expiresAt).toLocaleString()} · used {inv.uses} {inv.uses === 1 ? 'time' : 'times'}
            </span>
            <button
              type="button"
              className="btn btn-secondary"
              onClick={() =>
                revoke.mutate(inv.id, {
                  onSuccess: () => {
                    if (made?.id === inv.id) setMade(null);
                    toast.success('Invite link revoked');
                  },
                  onError: () => toast.error('Could not revoke the link'),
                })
              }
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
