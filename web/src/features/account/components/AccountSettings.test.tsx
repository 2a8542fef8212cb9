import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Providers } from '../../../app/App';
import type { Me } from '../../../lib/session';
import { mockFetch } from '../../../test/render';
import { AccountSettings } from './AccountSettings';
import { alice } from '../../../test/fixtures';

afterEach(() => vi.unstubAllGlobals());

const me = alice;

// LoginProbe stands in for /login and shows the state it was reached with.
function LoginProbe() {
  const location = useLocation();
  return <p>login page {JSON.stringify(location.state)}</p>;
}

function renderSettings(account: Me = me) {
  return render(
    <Providers>
      <MemoryRouter initialEntries={['/settings']}>
        <Routes>
          <Route path="/settings" element={<AccountSettings me={account} />} />
          <Route path="/login" element={<LoginProbe />} />
        </Routes>
      </MemoryRouter>
    </Providers>,
  );
}

const passwordForm = () => screen.getByRole('heading', { name: 'Password' }).closest('form')!;

describe('AccountSettings', () => {
  it('saves a changed username only', async () => {
    const calls = mockFetch({ 'PATCH /api/me': { status: 200, body: { ...me, username: 'alice2' } } });
    renderSettings();
    const save = screen.getByRole('button', { name: 'Save' });
    expect(save).toBeDisabled();
    await userEvent.clear(screen.getByLabelText('Username'));
    await userEvent.type(screen.getByLabelText('Username'), 'alice2');
    expect(save).toBeEnabled();
    await userEvent.click(save);
    expect(await screen.findByText('Username saved')).toBeInTheDocument();
    expect(calls).toEqual([{ key: 'PATCH /api/me', body: { username: 'alice2' } }]);
  });

  it('checks a new username before sending it', async () => {
    const calls = mockFetch({});
    renderSettings();
    await userEvent.clear(screen.getByLabelText('Username'));
    await userEvent.type(screen.getByLabelText('Username'), 'a b');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(screen.getByText('Use 4 to 20 characters with a mix of letters, numbers & symbols.')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('shows a taken username with the reference message', async () => {
    mockFetch({ 'PATCH /api/me': { status: 409, body: { error: { code: 'UsernameExists', message: 'x', field: 'username' } } } });
    renderSettings();
    await userEvent.clear(screen.getByLabelText('Username'));
    await userEvent.type(screen.getByLabelText('Username'), 'bobby');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('This username has been taken.')).toBeInTheDocument();
  });

  it('sends an email change with the current password and shows a pending change', async () => {
    const calls = mockFetch({ 'PATCH /api/me': { status: 200, body: { ...me, pendingEmail: 'new@example.com' } } });
    renderSettings({ ...me, pendingEmail: 'new@example.com' });
    expect(screen.getByText(/Confirm the change from the link sent to new@example.com/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('New email'), 'new@example.com');
    const form = screen.getByLabelText('New email').closest('form')!;
    await userEvent.type(within(form).getByLabelText('Current password'), 'Passw0rd!');
    await userEvent.click(screen.getByRole('button', { name: 'Change email' }));
    await waitFor(() => expect(calls).toEqual([{ key: 'PATCH /api/me', body: { email: 'new@example.com', currentPassword: 'Passw0rd!' } }]));
  });

  it('refuses a new password equal to the old one without asking the server', async () => {
    const calls = mockFetch({});
    renderSettings();
    const form = within(passwordForm());
    await userEvent.type(form.getByLabelText('Current password'), 'Passw0rd!');
    await userEvent.type(form.getByLabelText('New password'), 'Passw0rd!');
    await userEvent.type(form.getByLabelText('Confirm new password'), 'Passw0rd!');
    await userEvent.click(form.getByRole('button', { name: 'Save password' }));
    expect(screen.getByText('Your new password cannot be the same as your old password.')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('says "Incorrect password." when the current password is wrong', async () => {
    mockFetch({ 'PUT /api/me/password': { status: 401, body: { error: { code: 'IncorrectPassword', message: 'x', field: 'currentPassword' } } } });
    renderSettings();
    const form = within(passwordForm());
    await userEvent.type(form.getByLabelText('Current password'), 'Wr0ng-pass!');
    await userEvent.type(form.getByLabelText('New password'), 'N3w-pass!x');
    await userEvent.type(form.getByLabelText('Confirm new password'), 'N3w-pass!x');
    await userEvent.click(form.getByRole('button', { name: 'Save password' }));
    expect(await screen.findByText('Incorrect password.')).toBeInTheDocument();
  });

  it('changes the password, then confirms it in a modal', async () => {
    const calls = mockFetch({ 'PUT /api/me/password': { status: 204 } });
    renderSettings();
    const form = within(passwordForm());
    await userEvent.type(form.getByLabelText('Current password'), 'Passw0rd!');
    await userEvent.type(form.getByLabelText('New password'), 'N3w-pass!x');
    await userEvent.type(form.getByLabelText('Confirm new password'), 'N3w-pass!x');
    await userEvent.click(form.getByRole('button', { name: 'Save password' }));
    const dialog = await screen.findByRole('dialog', { name: 'Password updated' });
    expect(within(dialog).getByText('Your password has been updated.')).toBeInTheDocument();
    expect(screen.getByText('Password saved')).toBeInTheDocument();
    expect(calls).toEqual([{ key: 'PUT /api/me/password', body: { currentPassword: 'Passw0rd!', newPassword: 'N3w-pass!x' } }]);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Okay' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('deletes the account after asking for the password, then goes to /login', async () => {
    const calls = mockFetch({ 'DELETE /api/me': { status: 204 } });
    renderSettings();
    await userEvent.click(screen.getByRole('button', { name: 'Delete my account' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete account' });
    expect(within(dialog).getByText('Are you sure you would like to delete your account?')).toBeInTheDocument();
    const password = within(dialog).getByLabelText('Password');
    expect(password).toHaveFocus();
    await userEvent.type(password, 'Passw0rd!');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete account' }));
    expect(await screen.findByText('login page {"deleted":true}')).toBeInTheDocument();
    expect(calls).toEqual([{ key: 'DELETE /api/me', body: { password: 'Passw0rd!' } }]);
  });

  it('keeps the delete dialog open on a wrong password', async () => {
    mockFetch({ 'DELETE /api/me': { status: 401, body: { error: { code: 'IncorrectPassword', message: 'x' } } } });
    renderSettings();
    await userEvent.click(screen.getByRole('button', { name: 'Delete my account' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete account' });
    await userEvent.type(within(dialog).getByLabelText('Password'), 'nope');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete account' }));
    expect(await within(dialog).findByText('Incorrect password.')).toBeInTheDocument();
  });
});
