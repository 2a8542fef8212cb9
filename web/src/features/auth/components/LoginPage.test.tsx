import { render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { Providers } from '../../../app/App';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { LoginPage } from './LoginPage';

afterEach(() => vi.unstubAllGlobals());

describe('LoginPage', () => {
  it('shows the reference message for bad credentials', async () => {
    mockFetch({ 'POST /api/auth/login': { status: 401, body: { error: { code: 'InvalidCredentials', message: 'x' } } } });
    renderAt(<LoginPage />, { path: '/login', route: '/login' });
    await userEvent.type(screen.getByLabelText('Username or email'), 'alice');
    await userEvent.type(screen.getByLabelText('Password'), 'Passw0rd!');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Incorrect username or password');
  });

  it('shows the reference message when login is throttled', async () => {
    mockFetch({ 'POST /api/auth/login': { status: 429, body: { error: { code: 'TooManyAttempts', message: 'x' } } } });
    renderAt(<LoginPage />, { path: '/login', route: '/login' });
    await userEvent.type(screen.getByLabelText('Username or email'), 'alice');
    await userEvent.type(screen.getByLabelText('Password'), 'Passw0rd!');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Attempt limit exceeded, please try again later');
  });

  it('confirms an email change link', async () => {
    mockFetch({ 'POST /api/auth/verify': { status: 200, body: { username: 'alice', email: 'new@example.com', purpose: 'email-change' } } });
    renderAt(<LoginPage />, { path: '/login', route: '/login?code=abc&username=alice' });
    expect(await screen.findByText('Your email has been confirmed')).toBeInTheDocument();
  });

  it('offers to resend the link to an unverified account', async () => {
    const calls = mockFetch({
      'POST /api/auth/login': { status: 403, body: { error: { code: 'EmailNotVerified', message: 'Verify your email first.' } } },
      'POST /api/auth/verify/resend': { status: 202, body: {} },
    });
    renderAt(<LoginPage />, { path: '/login', route: '/login' });
    await userEvent.type(screen.getByLabelText('Username or email'), 'alice');
    await userEvent.type(screen.getByLabelText('Password'), 'Passw0rd!');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Resend' }));
    await waitFor(() => expect(calls.map((c) => c.key)).toContain('POST /api/auth/verify/resend'));
    expect(calls.find((c) => c.key === 'POST /api/auth/verify/resend')?.body).toEqual({ username: 'alice' });
  });

  it('confirms a sign-up link once and fills in the username', async () => {
    const calls = mockFetch({ 'POST /api/auth/verify': { status: 200, body: { username: 'alice', email: 'a@example.com', purpose: 'signup' } } });
    renderAt(<LoginPage />, { path: '/login', route: '/login?code=abc&username=alice' });
    expect(await screen.findByText('Your registration has been confirmed')).toBeInTheDocument();
    expect(screen.getByLabelText('Username or email')).toHaveValue('alice');
    expect(calls.filter((c) => c.key === 'POST /api/auth/verify')).toEqual([{ key: 'POST /api/auth/verify', body: { code: 'abc' } }]);
  });

  it('says when a link did not confirm anything', async () => {
    mockFetch({ 'POST /api/auth/verify': { status: 400, body: { error: { code: 'InvalidCode', message: 'This link is invalid or has expired.' } } } });
    renderAt(<LoginPage />, { path: '/login', route: '/login?code=old' });
    expect(await screen.findByText(/Your registration has not been confirmed/)).toBeInTheDocument();
  });
});

describe('LoginPage after an account deletion', () => {
  it('says the account was deleted, once, and forgets it', async () => {
    mockFetch({});
    let entry: { state: unknown } | undefined;
    function Probe() {
      entry = useLocation();
      return null;
    }
    render(
      <StrictMode>
        <Providers>
          <MemoryRouter initialEntries={[{ pathname: '/login', state: { deleted: true } }]}>
            <Routes>
              <Route path="/login" element={<><LoginPage /><Probe /></>} />
            </Routes>
          </MemoryRouter>
        </Providers>
      </StrictMode>,
    );
    expect(await screen.findByText('Your account has been successfully deleted.')).toBeInTheDocument();
    await waitFor(() => expect(entry?.state).toBeNull());
    expect(screen.getAllByText('Your account has been successfully deleted.')).toHaveLength(1);
  });
});
