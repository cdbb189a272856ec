/** The login page's only script: says so when the last sign-in failed. Imports nothing of the app's. */
import './login.css';

const failed = new URLSearchParams(location.search).get('failed');
const box = document.getElementById('login-error');
if (failed !== null && box) {
  box.textContent = "That token is not the daemon's token. Copy it from the file <data-dir>/token of podvisor serve (its --data-dir), or use the one podvisor kubeconfig prints (the token: of its user), and sign in again.";
  box.classList.add('shown');
}
