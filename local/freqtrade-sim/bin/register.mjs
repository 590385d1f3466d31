// Registers tsx's TypeScript loader, resolved from this repository's node_modules (not the caller's cwd).
import 'tsx';
