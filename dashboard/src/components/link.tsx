/** An anchor that navigates with pushState (the URL is the state); modified clicks open a tab as usual. */
import type { AnchorHTMLAttributes, MouseEvent } from 'react';
import { navigateTo } from '../hooks/use-location.js';

export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigateTo(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}
