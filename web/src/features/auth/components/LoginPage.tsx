import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { useToast } from '../../../lib/toast';
import { errorMessages } from '../../../lib/validation';
import { TextField } from '../../../components/TextField';
import { resendVerification, useLogin, verify } from '../api/auth';

type LocationState = { from?: string; deleted?: boolean } | null;

export function LoginPage() {
  const [params] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const toast = useToast();
  const state = location.state as LocationState;
  const [username, setUsername] = useState(params.get('username') ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [unverified, setUnverified] = useState(false);
  const [confirmation, setConfirmation] = useState<{ ok: boolean; text: string }>();
  const login = useLogin();
  const code = params.get('code');
  const verifiedOnce = useRef(false);

  // The deletion notice is shown once: the flag is dropped from the history entry, so a reload
  // or a return to this page does not repeat it (and StrictMode's second run is skipped).
  const noticed = useRef<LocationState>(null);
  useEffect(() => {
    if (!state?.deleted || noticed.current === state) return;
    noticed.current = state;
    toast.success('Your account has been successfully deleted.');
    navigate(location.pathname + location.search, { replace: true, state: state.from ? { from: state.from } : null });
  }, [state, toast, navigate, location.pathname, location.search]);

  useEffect(() => {
    if (!code || verifiedOnce.current) return;
    verifiedOnce.current = true; // codes are single-use: never send one twice
    verify(code).then(
      (r) => {
        setUsername(r.username);
        setConfirmation({ ok: true, text: r.purpose === 'email-change' ? 'Your email has been confirmed' : 'Your registration has been confirmed' });
      },
      (e) => setConfirmation({ ok: false, text: `Your registration has not been confirmed. ${isApiError(e) ? e.message : ''}`.trim() }),
    );
  }, [code]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setUnverified(false);
    if (!username.trim() || !password) {
      setError('Enter your username or email and your password.');
      return;
    }
    try {
      await login.mutateAsync({ username: username.trim(), password });
      navigate(state?.from ?? '/', { replace: true });
    } catch (err) {
      if (isApiError(err, 'EmailNotVerified')) setUnverified(true);
      setError(isApiError(err) ? (errorMessages[err.code] ?? err.message) : 'Something went wrong. Please try again.');
    }
  };

  const resend = async () => {
    await resendVerification(username.trim());
    toast.success('Verification email has been resent');
  };

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={submit} noValidate>
        <h1>Sign in to your account</h1>
        {confirmation && (
          <p className={confirmation.ok ? 'notice notice-success' : 'notice notice-error'} role="status">
            {confirmation.text}
          </p>
        )}
        <TextField id="username" label="Username or email" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
        <TextField id="password" label="Password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        {unverified && (
          <button type="button" className="btn btn-secondary" onClick={resend}>
            Resend
          </button>
        )}
        <Link to="/reset" className="link-small">
          Forgot password?
        </Link>
        <button type="submit" className="btn btn-primary" disabled={login.isPending}>
          Sign in
        </button>
        <p className="muted">
          New to Livehouse? <Link to="/register">Create an account</Link>
        </p>
      </form>
    </main>
  );
}
