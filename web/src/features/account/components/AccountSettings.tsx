import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { meKey, type Me } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { errorMessages, messages, validateConfirm, validateEmail, validatePassword, validateUsername } from '../../../lib/validation';
import { Modal } from '../../../components/Modal';
import { TextField } from '../../../components/TextField';
import { changePassword, deleteAccount, useUpdateMe } from '../api/account';

const describe = (err: unknown) => (isApiError(err) ? (errorMessages[err.code] ?? err.message) : 'Something went wrong. Please try again.');

export function AccountSettings({ me }: { me: Me }) {
  return (
    <section className="card settings-section" aria-labelledby="account-heading">
      <h2 id="account-heading">Account settings</h2>
      <UsernameForm me={me} />
      <EmailForm me={me} />
      <PasswordForm />
      <DeleteAccount />
    </section>
  );
}

function UsernameForm({ me }: { me: Me }) {
  const [username, setUsername] = useState(me.username);
  const [error, setError] = useState<string>();
  const update = useUpdateMe();
  const toast = useToast();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const err = validateUsername(username);
    setError(err);
    if (err) return;
    try {
      await update.mutateAsync({ username });
      toast.success('Username saved');
    } catch (ex) {
      setError(describe(ex));
    }
  };
  return (
    <form className="settings-row" onSubmit={submit} noValidate>
      <TextField id="settings-username" label="Username" value={username} onChange={(e) => setUsername(e.target.value)} error={error} />
      <button type="submit" className="btn btn-primary" disabled={username === me.username || update.isPending}>
        Save
      </button>
    </form>
  );
}

function EmailForm({ me }: { me: Me }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string }>({});
  const update = useUpdateMe();
  const toast = useToast();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs = { email: validateEmail(email), password: password ? undefined : messages.required };
    setErrors(errs);
    if (errs.email || errs.password) return;
    try {
      await update.mutateAsync({ email: email.trim(), currentPassword: password });
      setEmail('');
      setPassword('');
      toast.success('Check your new email for the confirmation link');
    } catch (ex) {
      setErrors(isApiError(ex) && ex.code === 'IncorrectPassword' ? { password: describe(ex) } : { email: describe(ex) });
    }
  };
  return (
    <form className="settings-row settings-row-wide" onSubmit={submit} noValidate>
      <p className="muted">
        Email: <strong>{me.email}</strong>
        {me.pendingEmail && <> · Confirm the change from the link sent to {me.pendingEmail}</>}
      </p>
      <TextField id="settings-email" label="New email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} />
      <TextField id="settings-email-password" label="Current password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} />
      <button type="submit" className="btn btn-primary" disabled={!email || update.isPending}>
        Change email
      </button>
    </form>
  );
}

function PasswordForm() {
  const [form, setForm] = useState({ current: '', next: '', confirm: '' });
  const [errors, setErrors] = useState<{ current?: string; next?: string; confirm?: string }>({});
  const [done, setDone] = useState(false);
  const toast = useToast();
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs = {
      current: form.current ? undefined : messages.required,
      next: validatePassword(form.next) ?? (form.next === form.current ? messages.samePassword : undefined),
      confirm: validateConfirm(form.next, form.confirm),
    };
    setErrors(errs);
    if (errs.current || errs.next || errs.confirm) return;
    try {
      await changePassword({ currentPassword: form.current, newPassword: form.next });
      setForm({ current: '', next: '', confirm: '' });
      toast.success('Password saved');
      setDone(true);
    } catch (ex) {
      setErrors(isApiError(ex) && ex.code === 'IncorrectPassword' ? { current: describe(ex) } : { next: describe(ex) });
    }
  };
  return (
    <form className="settings-row settings-row-wide" onSubmit={submit} noValidate>
      <h3>Password</h3>
      <TextField id="currentPassword" label="Current password" type="password" autoComplete="current-password" value={form.current} onChange={set('current')} error={errors.current} />
      <TextField id="newPassword" label="New password" type="password" autoComplete="new-password" value={form.next} onChange={set('next')} error={errors.next} />
      <TextField id="confirmNewPassword" label="Confirm new password" type="password" autoComplete="new-password" value={form.confirm} onChange={set('confirm')} error={errors.confirm} />
      <button type="submit" className="btn btn-primary" disabled={!form.current || !form.next}>
        Save password
      </button>
      {done && (
        <Modal title="Password updated" onClose={() => setDone(false)}>
          <p>Your password has been updated.</p>
          <button type="button" className="btn btn-primary" onClick={() => setDone(false)}>
            Okay
          </button>
        </Modal>
      )}
    </form>
  );
}

function DeleteAccount() {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await deleteAccount(password);
      qc.clear();
      qc.setQueryData(meKey, null);
      navigate('/login', { replace: true, state: { deleted: true } });
    } catch (ex) {
      setError(describe(ex));
    }
  };
  return (
    <div className="settings-row danger-zone">
      <h3>Delete account</h3>
      <p className="muted">This removes your channel, stream key, followers and everything else you own.</p>
      <button type="button" className="btn btn-danger" onClick={() => setOpen(true)}>
        Delete my account
      </button>
      {open && (
        <Modal title="Delete account" onClose={() => setOpen(false)}>
          <form onSubmit={submit} noValidate>
            <p>Are you sure you would like to delete your account?</p>
            <TextField id="delete-password" label="Password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={error} />
            <div className="modal-actions">
              <button type="button" className="btn btn-secondary" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" className="btn btn-danger" disabled={!password}>
                Delete account
              </button>
            </div>
          </form>
        </Modal>
      )}
    </div>
  );
}
