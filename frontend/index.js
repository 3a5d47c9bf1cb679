export function render() { document.body.textContent = 'H-JEPA Health'; }
