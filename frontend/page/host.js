// TensorBoard's plugin host: the iframe protocol of TensorBoard's experimental plugin
// lib (a MessageChannel handed to the parent page). The tab only listens for
// "experimental.DataReloaded" (TensorBoard's reload button) and answers every message.

/**
 * Listen to TensorBoard's plugin host (the iframe protocol of TensorBoard's
 * experimental plugin lib): on "experimental.DataReloaded", reload. Returns a disposer.
 */
export function connectHost(onReload) {
  if (window.parent === window) return () => {};
  let channel;
  try {
    channel = new MessageChannel();
  } catch {
    return () => {};
  }
  channel.port1.onmessage = (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!msg || msg.isReply) return;
    if (msg.type === 'experimental.DataReloaded') onReload();
    channel.port1.postMessage(
      JSON.stringify({type: msg.type, id: msg.id, payload: null, error: null, isReply: true}),
    );
  };
  try {
    window.parent.postMessage('experimental.bootstrap', window.location.origin, [channel.port2]);
  } catch {
    // Not inside TensorBoard (a test page): the timer still reloads.
  }
  return () => channel.port1.close();
}
