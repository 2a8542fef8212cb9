import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { useToast } from '../../../lib/toast';
import { errorMessages, validateConfirm, validateEmail, validatePassword, validateUsername } from '../../../lib/validation';
import { TextField } from '../../../components/TextField';
import { register, resendVerification, useLogin } from '../api/auth';

type Errors = Partial<Record<'username' | 'email' | 'password' | 'confirm' | 'form', string>>;

export function RegisterPage() {
  const navigate = useNavigate();
  const toast = useToast();
  const login = useLogin();
  const [form, setForm] = useState({ username: '', email: '', password: '', confirm: '' });
  const [errors, setErrors] = useState<Errors>({});
  const [pending, setPending] = useState(false);
  const [created, setCreated] = useState<string>();

  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs: Errors = {
      username: validateUsername(form.username),
      email: validateEmail(form.email),
      password: validatePassword(form.password),
      confirm: validateConfirm(form.password, form.confirm),
    };
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    setPending(true);
    try {
      const res = await register({ username: form.username, email: form.email.trim(), password: form.password });
      if (res.verificationRequired) {
        setCreated(form.username);
      } else {
        await login.mutateAsync({ username: form.username, password: form.password });
        navigate('/', { replace: true });
      }
    } catch (err) {
      if (isApiError(err)) {
        const text = errorMessages[err.code] ?? err.message;
        const field = err.field === 'username' || err.field === 'email' || err.field === 'password' ? err.field : 'form';
        setErrors({ [field]: text });
      } else {
        setErrors({ form: 'Something went wrong. Please try again.' });
      }
    } finally {
      setPending(false);
    }
  };

  if (created) {
    return (
      <main className="auth-page">
        <section className="card auth-card">
          <h1>Verify your account</h1>
          <p>Your account has been created. Please verify it by clicking the activation link sent to your email.</p>
          <button
            type="button"
            className="btn btn-secondary"
            onClick={async () => {
              await resendVerification(created);
              toast.success('Verification email has been resent');
            }}
          >
            Resend
          </button>
          <Link to="/login" className="btn btn-primary">
            Sign in
          </Link>
        </section>
      </main>
    );
  }

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={submit} noValidate>
        <h1>Create an account</h1>
        <TextField id="username" label="Username" autoComplete="username" value={form.username} onChange={set('username')} error={errors.username} />
        <TextField id="email" label="Email" type="email" autoComplete="email" value={form.email} onChange={set('email')} error={errors.email} />
        <TextField id="password" label="Password" type="password" autoComplete="new-password" value={form.password} onChange={set('password')} error={errors.password} />
        <TextField id="confirmPassword" label="Confirm password" type="password" autoComplete="new-password" value={form.confirm} onChange={set('confirm')} error={errors.confirm} />
        {errors.form && (
          <p className="error-text" role="alert">
            {errors.form}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={pending}>
          Create account
        </button>
        <p className="muted">
          Have an account? <Link to="/login">Sign in</Link>
        </p>
      </form>
    </main>
  );
}
