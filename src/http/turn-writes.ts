import type { Writable } from 'node:stream';

/** The release of every socket held in the current turn: one tick releases them all. */
const heldThisTurn: (() => void)[] = [];

function releaseTurn(): void {
  for (const release of heldThisTurn.splice(0)) release();
}

/**
 * Holds a socket's writes until the current turn of the event loop has run its microtasks, so
 * the frames produced in one turn (the lines of one bus message, say) leave in one system call.
 * On this kind of machine a loopback write costs more than building the frame it carries.
 * Returns the function to call before each write. However many sockets are held in a turn, one
 * tick releases them: each tick is an async resource, and with AsyncLocalStorage in use (the ORM)
 * creating one costs more than the uncork it schedules.
 */
export function turnWrites(socket: Pick<Writable, 'cork' | 'uncork'>): () => void {
  let held = false;
  const release = () => {
    held = false;
    socket.uncork();
  };
  return () => {
    if (held) return;
    held = true;
    socket.cork();
    // A tick queued from a microtask runs once the microtask queue is empty: after the last frame of the turn.
    if (heldThisTurn.push(release) === 1) process.nextTick(releaseTurn);
  };
}
