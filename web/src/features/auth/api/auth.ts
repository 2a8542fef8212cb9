import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';
import { meKey, type Me } from '../../../lib/session';

type Credentials = { username: string; password: string };

export const login = (c: Credentials) => api<{ token: string; user: Me }>('POST', '/api/auth/login', c);
export const register = (b: { username: string; email: string; password: string }) =>
  api<{ user: Me; verificationRequired: boolean }>('POST', '/api/auth/register', b);
export const verify = (code: string) =>
  api<{ username: string; email: string; purpose: 'signup' | 'email-change' }>('POST', '/api/auth/verify', { code });
export const resendVerification = (username: string) => api('POST', '/api/auth/verify/resend', { username });
export const requestPasswordReset = (email: string) => api('POST', '/api/auth/password-reset', { email });
export const confirmPasswordReset = (code: string, password: string) =>
  api<{ username: string }>('POST', '/api/auth/password-reset/confirm', { code, password });
export const logout = () => api('POST', '/api/auth/logout');

export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: login,
    onSuccess: (res) => qc.setQueryData(meKey, res.user),
  });
}

export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: logout,
    onSettled: () => {
      qc.clear();
      qc.setQueryData(meKey, null);
    },
  });
}
