{
  dev: { name: 'dev', namespace: 'shop-dev', tag: 'latest', replicas: 1, cpu: '50m', memory: '64Mi' },
  staging: { name: 'staging', namespace: 'shop-staging', tag: 'v1.8.0-rc.2', replicas: 2, cpu: '100m', memory: '128Mi', host: 'staging.shop.example.com' },
  prod: { name: 'prod', namespace: 'shop', tag: 'v1.7.4', replicas: 6, cpu: '500m', memory: '512Mi', host: 'shop.example.com', autoscale: { max: 20, cpu: 70 } },
}
