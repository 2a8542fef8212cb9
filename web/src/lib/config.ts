import { useQuery } from '@tanstack/react-query';
import { api } from './api-client';

export type ClientConfig = {
  stage: string;
  channelType: string;
  amazonProduct: boolean;
  version: string;
};

// useClientConfig is the server's public configuration (GET /api/config).
export function useClientConfig() {
  return useQuery({ queryKey: ['client-config'], queryFn: () => api<ClientConfig>('GET', '/api/config'), staleTime: Infinity });
}
