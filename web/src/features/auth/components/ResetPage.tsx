import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { useToast } from '../../../lib/toast';
import { errorMessages, validateConfirm, validateEmail, validatePassword } from '../../../lib/validation';
import { TextField } from '../../../components/TextField';
import { confirmPasswordReset, requestPasswordReset } from '../api/auth';

export function ResetPage() {
  const [params] = useSearchParams();
  const code = params.get('code');
  return <main className="auth-page">{code ? <NewPassword code={code} /> : <RequestReset />}</main>;
}

function RequestReset() {
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string>();
  const [sent, setSent] = useState(false);
  const toast = useToast();

  const send = async () => {
    try {
      await requestPasswordReset(email.trim());
      return true;
    } catch (err) {
      setError(isApiError(err) ? err.message : 'Something went wrong. Please try again.');
      return false;
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const err = validateEmail(email);
    setError(err);
    if (!err && (await send())) setSent(true);
  };

  if (sent) {
    return (
      <section className="card auth-card">
        <h1>Reset your password</h1>
        <p>If an account with this email address exists, you will receive an email with a link to reset your password.</p>
        <button type="button" className="btn btn-secondary" onClick={async () => (await send()) && toast.success('Reset email has been resent')}>
          Resend
        </button>
        <Link to="/login" className="btn btn-primary">
          Return to login
        </Link>
      </section>
    );
  }
  return (
    <form className="card auth-card" onSubmit={submit} noValidate>
      <h1>Forgot your password?</h1>
      <p className="muted">Enter the email of your account and we will send you a link to reset your password.</p>
      <TextField id="email" label="Email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={error} />
      <button type="submit" className="btn btn-primary">
        Continue
      </button>
      <Link to="/login" className="link-small">
        Return to login
      </Link>
    </form>
  );
}

function NewPassword({ code }: { code: string }) {
  const navigate = useNavigate();
  const toast = useToast();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<{ password?: string; confirm?: string; form?: string }>({});

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs = { password: validatePassword(password), confirm: validateConfirm(password, confirm) };
    setErrors(errs);
    if (errs.password || errs.confirm) return;
    try {
      const res = await confirmPasswordReset(code, password);
      toast.success('Your password has been reset');
      navigate(`/login?username=${encodeURIComponent(res.username)}`, { replace: true });
    } catch (err) {
      setErrors({ form: isApiError(err) ? (errorMessages[err.code] ?? err.message) : 'Something went wrong. Please try again.' });
    }
  };
  return (
    <form className="card auth-card" onSubmit={submit} noValidate>
      <h1>Set a new password</h1>
      <TextField id="newPassword" label="New password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} />
      <TextField id="confirmPassword" label="Confirm new password" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} error={errors.confirm} />
      {errors.form && (
        <p className="error-text" role="alert">
          {errors.form}
        </p>
      )}
      <button type="submit" className="btn btn-primary">
        Submit
      </button>
    </form>
  );
}
