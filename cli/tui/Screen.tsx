/**
 * Draws the lines of cli/tui/view/screen.ts with the theme's colours. Presentational only:
 * everything it shows is decided by the pure view functions.
 */
import { Box, Text } from 'ink';
import { THEME } from './theme.ts';
import type { Line } from './view/screen.ts';

export function Screen({ lines }: { lines: readonly Line[] }): React.JSX.Element {
  return (
    <Box flexDirection="column">
      {lines.map((line, index) => (
        <Text key={index} wrap="truncate" {...THEME[line.style]}>{line.text}</Text>
      ))}
    </Box>
  );
}
