// three.js big-gift effect: one transparent full-page canvas, created on first use and reused;
// it renders only while an effect plays (no idle animation loop).
import * as THREE from "three";

const DURATION_MS = 2400;
let ctx = null;

function setup() {
  const canvas = document.createElement("canvas");
  canvas.id = "fx";
  document.getElementById("overlay").append(canvas);
  // No antialiasing and at most 960 px wide: OBS and software WebGL render it without dropping
  // the page's frames; CSS stretches the canvas to the page.
  const renderer = new THREE.WebGLRenderer({ canvas, alpha: true, antialias: false });
  renderer.setClearColor(0x000000, 0);
  renderer.setPixelRatio(1);
  const scene = new THREE.Scene();
  const camera = new THREE.PerspectiveCamera(45, 1, 0.1, 100);
  camera.position.set(0, 0.6, 6);
  scene.add(new THREE.AmbientLight(0xffffff, 0.9));
  const sun = new THREE.DirectionalLight(0xffffff, 1.6);
  sun.position.set(3, 4, 5);
  scene.add(sun);

  const box = new THREE.Group();
  const body = new THREE.Mesh(new THREE.BoxGeometry(1.4, 1.2, 1.4),
    new THREE.MeshStandardMaterial({ color: 0xff3b7f, roughness: 0.4, metalness: 0.2 }));
  const lid = new THREE.Mesh(new THREE.BoxGeometry(1.55, 0.3, 1.55),
    new THREE.MeshStandardMaterial({ color: 0xff5c95, roughness: 0.4 }));
  lid.position.y = 0.75;
  const ribbonMat = new THREE.MeshStandardMaterial({ color: 0x25f4ee, roughness: 0.3, metalness: 0.5 });
  const r1 = new THREE.Mesh(new THREE.BoxGeometry(0.22, 1.52, 1.46), ribbonMat);
  const r2 = new THREE.Mesh(new THREE.BoxGeometry(1.46, 1.52, 0.22), ribbonMat);
  r1.position.y = r2.position.y = 0.05;
  box.add(body, lid, r1, r2);
  scene.add(box);

  const count = 400;
  const positions = new Float32Array(count * 3);
  const velocities = new Float32Array(count * 3);
  const geom = new THREE.BufferGeometry();
  geom.setAttribute("position", new THREE.BufferAttribute(positions, 3));
  const points = new THREE.Points(geom, new THREE.PointsMaterial({
    size: 0.08, color: 0xffe066, transparent: true, opacity: 1,
  }));
  scene.add(points);
  ctx = { canvas, renderer, scene, camera, box, lid, points, positions, velocities, count, raf: 0 };
}

function resize() {
  const w = window.innerWidth, h = window.innerHeight;
  const k = Math.min(1, 960 / w);
  ctx.renderer.setSize(Math.round(w * k), Math.round(h * k), false);
  ctx.camera.aspect = w / h;
  ctx.camera.updateProjectionMatrix();
}

/** Builds the scene and renders one empty frame: shaders compile now, not on the first gift. */
export function warm() {
  if (ctx) return;
  setup();
  resize();
  ctx.renderer.compile(ctx.scene, ctx.camera);
  ctx.box.scale.setScalar(0.0001);
  ctx.renderer.render(ctx.scene, ctx.camera);
  ctx.renderer.clear();
}

export function play() {
  if (!ctx) setup();
  resize();
  const { positions, velocities, count } = ctx;
  for (let i = 0; i < count; i++) {
    positions.set([0, 0.8, 0], i * 3);
    const theta = Math.random() * Math.PI * 2, phi = Math.random() * Math.PI;
    const speed = 2 + Math.random() * 3;
    velocities.set([Math.sin(phi) * Math.cos(theta) * speed, Math.abs(Math.cos(phi)) * speed + 1,
      Math.sin(phi) * Math.sin(theta) * speed], i * 3);
  }
  ctx.points.geometry.attributes.position.needsUpdate = true;
  ctx.canvas.dataset.playing = "1";
  cancelAnimationFrame(ctx.raf);
  const start = performance.now();
  let last = start;
  const frame = (now) => {
    const t = (now - start) / DURATION_MS, dt = Math.min(0.05, (now - last) / 1000);
    last = now;
    const s = t < 0.15 ? t / 0.15 : t > 0.85 ? Math.max(0, (1 - t) / 0.15) : 1;
    ctx.box.scale.setScalar(s);
    ctx.box.rotation.y += dt * 3;
    ctx.box.rotation.x = Math.sin(now / 300) * 0.2;
    ctx.lid.position.y = 0.75 + Math.max(0, t - 0.2) * 1.5;
    if (t > 0.2) {
      for (let i = 0; i < count * 3; i += 3) {
        velocities[i + 1] -= 4 * dt;
        positions[i] += velocities[i] * dt;
        positions[i + 1] += velocities[i + 1] * dt;
        positions[i + 2] += velocities[i + 2] * dt;
      }
      ctx.points.geometry.attributes.position.needsUpdate = true;
    }
    ctx.points.visible = t > 0.2;
    ctx.points.material.opacity = Math.max(0, 1 - t);
    ctx.renderer.render(ctx.scene, ctx.camera);
    if (t < 1) ctx.raf = requestAnimationFrame(frame);
    else {
      ctx.renderer.clear();
      ctx.canvas.dataset.playing = "0";
    }
  };
  ctx.raf = requestAnimationFrame(frame);
}
