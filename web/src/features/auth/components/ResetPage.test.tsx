import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Providers } from '../../../app/App';
import { mockFetch } from '../../../test/render';
import { ResetPage } from './ResetPage';

afterEach(() => vi.unstubAllGlobals());

function LoginProbe() {
  const location = useLocation();
  return <p>login page {location.search}</p>;
}

function renderReset(route: string) {
  return render(
    <Providers>
      <MemoryRouter initialEntries={[route]}>
        <Routes>
          <Route path="/reset" element={<ResetPage />} />
          <Route path="/login" element={<LoginProbe />} />
        </Routes>
      </MemoryRouter>
    </Providers>,
  );
}

describe('ResetPage', () => {
  it('asks for a link by email and offers to resend it', async () => {
    const calls = mockFetch({ 'POST /api/auth/password-reset': { status: 202, body: {} } });
    renderReset('/reset');
    await userEvent.type(screen.getByLabelText('Email'), 'alice@example.com');
    await userEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect(await screen.findByRole('heading', { name: 'Reset your password' })).toBeInTheDocument();
    expect(screen.getByText(/If an account with this email address exists, you will receive an email/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Return to login' })).toHaveAttribute('href', '/login');
    await userEvent.click(screen.getByRole('button', { name: 'Resend' }));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls.every((c) => c.key === 'POST /api/auth/password-reset' && (c.body as { email: string }).email === 'alice@example.com')).toBe(true);
  });

  it('checks the email before sending it', async () => {
    const calls = mockFetch({});
    renderReset('/reset');
    await userEvent.type(screen.getByLabelText('Email'), 'nope');
    await userEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect(screen.getByText('Enter a valid email.')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('sets a new password from a link and returns to login', async () => {
    const calls = mockFetch({ 'POST /api/auth/password-reset/confirm': { status: 200, body: { username: 'alice' } } });
    renderReset('/reset?code=c0de&username=alice');
    await userEvent.type(screen.getByLabelText('New password'), 'N3w-pass!x');
    await userEvent.type(screen.getByLabelText('Confirm new password'), 'N3w-pass!x');
    await userEvent.click(screen.getByRole('button', { name: 'Submit' }));
    expect(await screen.findByText('login page ?username=alice')).toBeInTheDocument();
    expect(screen.getByText('Your password has been reset')).toBeInTheDocument();
    expect(calls).toEqual([{ key: 'POST /api/auth/password-reset/confirm', body: { code: 'c0de', password: 'N3w-pass!x' } }]);
  });

  it('applies the password rules and the confirmation', async () => {
    const calls = mockFetch({});
    renderReset('/reset?code=c0de');
    await userEvent.type(screen.getByLabelText('New password'), 'N3w-pass!x');
    await userEvent.type(screen.getByLabelText('Confirm new password'), 'N3w-pass!y');
    await userEvent.click(screen.getByRole('button', { name: 'Submit' }));
    expect(screen.getByText('Passwords do not match.')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('says when the link is invalid or expired', async () => {
    mockFetch({ 'POST /api/auth/password-reset/confirm': { status: 400, body: { error: { code: 'InvalidCode', message: 'x' } } } });
    renderReset('/reset?code=old');
    await userEvent.type(screen.getByLabelText('New password'), 'N3w-pass!x');
    await userEvent.type(screen.getByLabelText('Confirm new password'), 'N3w-pass!x');
    await userEvent.click(screen.getByRole('button', { name: 'Submit' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This link is invalid or has expired');
  });
});
