import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { RegisterPage } from './RegisterPage';

afterEach(() => vi.unstubAllGlobals());

async function fill(username: string) {
  await userEvent.type(screen.getByLabelText('Username'), username);
  await userEvent.type(screen.getByLabelText('Email'), 'a@example.com');
  await userEvent.type(screen.getByLabelText('Password'), 'Passw0rd!');
  await userEvent.type(screen.getByLabelText('Confirm password'), 'Passw0rd!');
  await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
}

describe('RegisterPage', () => {
  it('sends nothing while a field is invalid', async () => {
    const calls = mockFetch({});
    renderAt(<RegisterPage />);
    await fill('ab');
    expect(screen.getByText('Use 4 to 20 characters with a mix of letters, numbers & symbols.')).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('maps a taken username to the reference message', async () => {
    mockFetch({ 'POST /api/auth/register': { status: 409, body: { error: { code: 'UsernameExists', message: 'x', field: 'username' } } } });
    renderAt(<RegisterPage />);
    await fill('alice');
    expect(await screen.findByText('This username has been taken.')).toBeInTheDocument();
  });

  it('asks to verify when the server requires it', async () => {
    mockFetch({ 'POST /api/auth/register': { status: 201, body: { user: {}, verificationRequired: true } } });
    renderAt(<RegisterPage />);
    await fill('alice');
    expect(await screen.findByRole('heading', { name: 'Verify your account' })).toBeInTheDocument();
  });
});
