// Small inline icons (SVG elements, no inline style or script): decorative, the buttons carry the words.
const paths = {
  pause: 'M7 5h3v14H7zM14 5h3v14h-3z',
  play: 'M8 5v14l11-7z',
  verify: 'M12 4a8 8 0 1 0 7.4 5h-2.2A6 6 0 1 1 12 6v3l4-4-4-4z',
  remove: 'M6 7h12l-1 13H7zM9 4h6l1 2H8z',
  close: 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z',
  add: 'M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z',
} as const;

export function Icon({ name }: { name: keyof typeof paths }) {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <path d={paths[name]} fill="currentColor" />
    </svg>
  );
}
