import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';
import { meKey, type Me } from '../../../lib/session';

export const updateMe = (b: { username?: string; email?: string; currentPassword?: string }) => api<Me>('PATCH', '/api/me', b);
export const changePassword = (b: { currentPassword: string; newPassword: string }) => api('PUT', '/api/me/password', b);
export const deleteAccount = (password: string) => api('DELETE', '/api/me', { password });

export function useUpdateMe() {
  const qc = useQueryClient();
  return useMutation({ mutationFn: updateMe, onSuccess: (me) => qc.setQueryData(meKey, me) });
}
